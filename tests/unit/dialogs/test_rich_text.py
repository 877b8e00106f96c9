"""Rich text in the dialogs: emphasis comes only from the code, never from what someone typed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dialogs.actions import ChangeAnswer, Command
from dialogs.replies import Reply
from dialogs.rich import MARKUP, bold, bullets, md, rich

# _italics_ written into a plain string: shown as underscores in the console and escaped in Teams.
UNDERSCORES = re.compile(r"(?<![\w_])_[^\s_][^_\n]*_(?![\w_])")
DIALOGS = Path(__file__).resolve().parents[3] / "dialogs"


def _templates_and_strings() -> tuple[list[str], list[str]]:
    """(md() calls whose template is not a constant, string constants with *bold* or `code` outside md())."""
    not_constant, marked = [], []
    for path in sorted(DIALOGS.rglob("*.py")):
        if path.name == "rich.py":  # where the markup is defined
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        templates = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "md" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    templates.add(id(first))
                else:
                    not_constant.append(f"{path.name}:{node.lineno}")
        patterns = {  # regular expressions are not text anyone reads
            id(arg)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and getattr(node.func, "value", None) is not None
            and getattr(node.func.value, "id", "") == "re"
            for arg in ast.walk(node)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):  # an f-string: its pieces, a value standing where each field is
                value = "".join(p.value if isinstance(p, ast.Constant) else "x" for p in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
            else:
                continue
            if id(node) in templates | docstrings | patterns:
                continue
            if MARKUP.search(value) or UNDERSCORES.search(value):
                marked.append(f"{path.name}:{node.lineno}: {value[:60]!r}")
    return not_constant, marked


def test_markup_in_the_dialogs_is_written_only_in_constant_templates():
    not_constant, marked = _templates_and_strings()
    assert not_constant == [], "md() takes a constant template; pass values as its arguments"
    assert marked == [], "a plain string is shown literally: write *bold* and `code` in md() templates, italic()"


def test_a_value_in_a_template_is_literal_even_inside_bold():
    typed = "*urgent* <b>&amp; `x`\n• not a list item"
    text = md("Answer: *{}* done.\n• item", typed)
    assert [(s.text, s.style) for s in text] == [
        ("Answer: ", ""),
        (typed, "bold"),
        (" done.\n", ""),
        ("", "item"),
        ("item", ""),
    ]


def test_rich_text_joins_and_reads_plain():
    text = rich("Because you changed ", bold("Places"), ":", bullets(["one", rich(bold("two"), " more")]))
    assert text.plain == "Because you changed Places:\n• one\n• two more"
    assert "changed Places" in text and (text + " Then.").plain.endswith("more Then.")


def test_a_notice_queued_before_rich_text_and_typed_actions_is_read_as_it_was_meant() -> None:
    """A body stored by the previous version: Slack-style markup in its text, "kind|part" actions."""
    stored = {
        "text": "*Spring Term 2* is open. Type `start`.",
        "kind": "notice",
        "choices": [{"label": "Start", "action": "cmd|start", "style": "primary", "form": None}],
        "facts": [{"label": "Places", "value": "12", "change": {"label": "Change", "action": "change|places"}}],
    }
    reply = Reply.from_dict(stored)
    assert reply.text.markup == "*Spring Term 2* is open. Type `start`."
    assert reply.choices[0].action == Command("start") and reply.facts[0].change.action == ChangeAnswer("places")
    assert Reply.from_dict(reply.to_dict()) == reply  # and what is stored now comes back the same
