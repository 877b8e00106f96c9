"""Neutral replies as Slack Block Kit, within Slack's limits, and modals built from dialog Forms.

Limits honoured (https://docs.slack.dev/reference/block-kit): 50 blocks per message, section text under
3,000 characters, header text 150, button text 75 and value 2,000, 25 elements per actions block,
10 options per checkbox group, modal title and submit label 24, private_metadata 3,000.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

from dialogs.actions import encode
from dialogs.replies import Choice, Fact, Form, FormField, Reply
from dialogs.rich import BULLET, Text, text_of

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100  # a Home tab view
MAX_SECTION = 2900  # Slack's limit is 3,000; leave room for markup we add
MAX_BUTTON_TEXT = 75
MAX_VALUE = 2000
MAX_ACTIONS = 25
MAX_CHECKBOXES = 10
MAX_TITLE = 24
MAX_METADATA = 3000

BUTTON = "eoi_btn_"  # a Choice: value is its action, encoded (dialogs.actions.encode)
FORM_BUTTON = "eoi_form_"  # a Choice with a Form: value is the form (JSON), opened as a modal
MULTI = "eoi_multi_"  # checkbox groups of a multiple-choice question
PICK = "eoi_pick"  # a drop-down of choices too long for buttons: each option's value is its action, encoded
# A button label longer than this may be cut on a phone (Slack never wraps one): such choices are a drop-down.
READABLE_BUTTON = 30
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
DONE = "eoi_done"  # value: the question's Answer, encoded; the checked values are added on click
FORM_VIEW = "eoi_form"  # the modal's callback_id
INPUT = "value"  # action_id of every input in a modal; the block_id is the field name

# Slack has no escape for its formatting characters; a zero-width space on each side of one that could open or
# close formatting (not between two letters) keeps it from pairing up, and the reader sees it as it was typed.
_FORMATTING = re.compile(r"(?<!\w)([*_~`])|([*_~`])(?!\w)")
ZWSP = "\u200b"


def escape(text: str) -> str:
    """Literal text in mrkdwn: &, < and > as Slack asks (so `<!channel>` is text, not a mention), and no
    formatting from a `*`, `_`, `~` or backtick someone typed."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub(lambda m: f"{ZWSP}{m.group(0)}{ZWSP}", text)


def escape_code(text: str) -> str:
    """Literal text inside a ``` block: only &, < and > need escaping there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


EMPHASIS = {"bold": "*", "italic": "_"}  # mrkdwn's marks for each style of emphasis


def mrkdwn(text: str | Text) -> str:
    """Rich text as Slack mrkdwn: *bold*, _italic_, `code`, <url|links>, "• " list items; everything else literal."""
    out = []
    for span in text_of(text):
        if span.style == "item":
            out.append(BULLET)
        elif span.style == "code":
            inner = escape_code(span.text.replace("`", "'"))  # nothing is formatted inside code; a backtick ends it
            out.append(f"`{inner}`" if inner.strip() else inner)
        elif span.style == "link":
            out.append(f"<{escape(span.url)}|{escape(span.text).replace('|', '¦')}>")
        elif span.style in EMPHASIS and span.text.strip():
            # Slack emphasises only when the marks touch the words: spaces at either end go outside them.
            inner, mark = span.text.strip(), EMPHASIS[span.style]
            lead, trail = span.text[: len(span.text) - len(span.text.lstrip())], span.text[len(span.text.rstrip()) :]
            out.append(f"{escape(lead)}{mark}{escape(inner)}{mark}{escape(trail)}")
        else:
            out.append(escape(span.text))
    return "".join(out)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(text: str, limit: int = MAX_SECTION) -> list[str]:
    """Split on line breaks (then hard) so each piece fits a section."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return [p for p in pieces if p.strip()]


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION)}}


def _text(label: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(label, MAX_BUTTON_TEXT) or "…", "emoji": True}


def form_to_json(form: Form) -> str:
    """The form for a button's value (2,000 characters) or a modal's metadata (3,000): without what its boxes
    hold (a long answer wouldn't fit; the Slack channel asks the dialog for it when the form opens)."""
    data = asdict(form)
    for field in data["fields"]:
        field.pop("value", None)
    return json.dumps(data, separators=(",", ":"))


def form_from_json(raw: str) -> Form:
    data = json.loads(raw)
    return Form(
        title=str(data["title"]),
        command=str(data["command"]),
        submit_label=str(data.get("submit_label") or "Submit"),
        fields=tuple(
            FormField(**{**f, "options": tuple(str(o) for o in f.get("options", ()))}) for f in data["fields"]
        ),
    )


def button(choice: Choice, n: int) -> Block:
    if choice.form is not None:
        action_id, value = f"{FORM_BUTTON}{n}", form_to_json(choice.form)
    else:
        action_id, value = f"{BUTTON}{n}", encode(choice.action)
    element: Block = {"type": "button", "action_id": action_id, "text": _text(choice.label), "value": value}
    if len(value) > MAX_VALUE:
        raise ValueError(f"button value over {MAX_VALUE} characters: {choice.label!r}")
    if choice.style in ("primary", "danger"):
        element["style"] = choice.style
    return element


def _beside(choice: Choice, n: int) -> Block:
    """A fact's own button (Change, Show), beside the fact it acts on: a label too long for a phone is its first
    word, as the fact beside it names what, and a screen reader reads it whole (accessibility_label)."""
    element = button(choice, n)
    if len(choice.label) > READABLE_BUTTON:
        element["text"] = _text(choice.label.split(" ", 1)[0])
        element["accessibility_label"] = _cut(choice.label, MAX_BUTTON_TEXT)
    return element


def _pick(choices: list[Choice]) -> Block:
    """Choices with a label too long for a button, as a drop-down whose every label is read whole."""
    options = [{"text": _text(c.label), "value": encode(c.action)} for c in choices[:MAX_OPTIONS]]
    if any(len(o["value"]) > MAX_OPTION_VALUE for o in options):
        raise ValueError(f"an option value over {MAX_OPTION_VALUE} characters: {[c.label for c in choices]}")
    return {
        "type": "static_select",
        "action_id": PICK,
        "placeholder": {"type": "plain_text", "text": "Choose…"},
        "options": options,
    }


def _choice_elements(choices: list[Choice]) -> list[Block]:
    """Buttons; or, when a choice's label would be cut on a button, a drop-down of the choices (forms stay
    buttons)."""
    plain_choices = [c for c in choices if c.form is None]
    if not any(len(c.label) > READABLE_BUTTON for c in plain_choices):
        return [button(c, n) for n, c in enumerate(choices)]
    return [_pick(plain_choices), *(button(c, n) for n, c in enumerate(choices) if c.form is not None)]


def _actions(elements: list[Block], tag: str) -> list[Block]:
    return [
        {"type": "actions", "block_id": f"{tag}_{i}", "elements": elements[i : i + MAX_ACTIONS]}
        for i in range(0, len(elements), MAX_ACTIONS)
    ]


def _fact_line(fact: Fact) -> str:
    value = fact.value if "\n" not in fact.value else "\n" + fact.value
    return f"*{escape(fact.label)}*: {escape(value)}"


def _multi_blocks(reply: Reply) -> tuple[list[Block], list[Choice]]:
    """Checkbox groups for a multiple-choice question, a Done button, and the choices left as buttons."""
    options, rest = reply.options()
    if not options:
        return [], reply.choices
    groups = []
    for g, start in enumerate(range(0, len(options), MAX_CHECKBOXES)):
        group = [
            {"text": _text(label), "value": _cut(value, 150)}
            for value, label in options[start : start + MAX_CHECKBOXES]
        ]
        element: Block = {"type": "checkboxes", "action_id": f"{MULTI}{g}", "options": group}
        chosen = [o for o in group if o["value"] in reply.selected]
        if chosen:
            element["initial_options"] = chosen
        groups.append(element)
    done = {
        "type": "button",
        "action_id": DONE,
        "text": _text("Done"),
        "value": encode(reply.done()),
        "style": "primary",
    }
    blocks = [{"type": "actions", "block_id": f"multi_{i}", "elements": [element]} for i, element in enumerate(groups)]
    blocks.append({"type": "actions", "block_id": "multi_done", "elements": [done]})
    return blocks, rest


def _file_blocks(name: str, content: str | bytes, room: int) -> list[Block]:
    """A small file as code blocks; one that does not fit says so instead of being cut silently. Bytes (a PDF) are
    never shown as text: shown here only when the upload was refused, so the message says it is missing."""
    if isinstance(content, bytes):
        return [section(f"`{escape(name)}` could not be attached to this message.")]
    pieces = _chunks(escape_code(content.replace("\r\n", "\n").strip("\n")), MAX_SECTION - 8)
    if len(pieces) > room - 1:
        return [
            section(
                f"`{escape(name)}` is too large to show in Slack ({len(content):,} characters). "
                "Narrow it (e.g. `export` with a window) or run `eoi-bot export` on the server."
            )
        ]
    return [section(f"`{escape(name)}`"), *(section(f"```{p}```") for p in pieces)]


def render(reply: Reply) -> tuple[str, list[Block]]:
    """(fallback text for notifications, blocks) for one reply."""
    head: list[Block] = []
    if reply.title:
        head.append({"type": "header", "text": {"type": "plain_text", "text": _cut(reply.title, 150)}})
    head.extend(section(piece) for piece in _chunks(mrkdwn(reply.text)))
    for name, problem in reply.field_errors.items():
        warning = _cut(f"⚠️ {escape(name)}: {escape(problem)}", 2900)
        head.append({"type": "context", "elements": [{"type": "mrkdwn", "text": warning}]})

    multi, choices = _multi_blocks(reply) if reply.multi else ([], list(reply.choices))
    buttons = _choice_elements(choices)
    tail = multi + _actions(buttons, "choices")

    fact_blocks: list[Block] = []
    changes = [f for f in reply.facts if f.change]
    room = MAX_BLOCKS - len(head) - len(tail)
    # Each fact whole, over several sections when long (a vision of 3,000 characters), never cut.
    pieces = [_chunks(_fact_line(f)) or [f"*{f.label}*:"] for f in reply.facts]
    if changes and sum(len(p) for p in pieces) <= room - 1:
        # One section per fact, its Change/Show button beside its first piece.
        offset = len(buttons)
        for i, (fact, parts) in enumerate(zip(reply.facts, pieces, strict=True)):
            block = section(parts[0])
            if fact.change:
                block["accessory"] = _beside(fact.change, offset + i)
            fact_blocks += [block, *(section(p) for p in parts[1:])]
    else:
        lines = "\n".join(_fact_line(f) for f in reply.facts)
        fact_blocks = [section(p) for p in _chunks(lines)]
        if changes:
            offset = len(buttons)
            fact_blocks += _actions([button(f.change, offset + i) for i, f in enumerate(changes) if f.change], "facts")
    blocks = head + fact_blocks
    if reply.file:
        blocks += _file_blocks(*reply.file, room=MAX_BLOCKS - len(blocks) - len(tail))
    blocks += tail
    if len(blocks) > MAX_BLOCKS:
        keep = MAX_BLOCKS - len(tail) - 1
        blocks = [*blocks[:keep], section("_(cut short: too long for one Slack message)_"), *tail]
    # The notification: the title, unless the text already names what it does ("EOI-2627A-001: approved").
    title = reply.title if reply.title.split(":", 1)[0] not in reply.text.plain else ""
    fallback = escape_code(" ".join(x for x in (title, reply.text.plain) if x)) or "EOI Bot"
    return _cut(fallback, 3000), blocks


def home_view(replies: list[Reply]) -> Block:
    """The app's Home tab: the replies one under another (a divider between), within a view's 100 blocks."""
    blocks: list[Block] = []
    for n, reply in enumerate(replies):
        if blocks:
            blocks.append({"type": "divider"})
        # Block ids are unique within a view: each reply's get its number.
        blocks.extend({**b, "block_id": f"{b['block_id']}_{n}"} if "block_id" in b else b for b in render(reply)[1])
    if len(blocks) > MAX_HOME_BLOCKS:
        blocks = [*blocks[: MAX_HOME_BLOCKS - 1], section("_(more in our direct messages)_")]
    return {"type": "home", "blocks": blocks}


def modal_title(title: str) -> str:
    """A modal's title within Slack's 24 characters, never cut mid-word: "Discussion: EOI-2627A-001" is
    "Discussion" (the whole title is the modal's first line)."""
    if len(title) <= MAX_TITLE:
        return title
    head = title.split(":", 1)[0].strip()
    return head if len(head) <= MAX_TITLE else _cut(title, MAX_TITLE)


def form_view(form: Form, metadata: dict[str, Any]) -> Block:
    """A modal for a Form. Each input's block_id is the field name, so Slack's `errors` land on the field."""
    blocks: list[Block] = []
    if len(form.title) > MAX_TITLE:
        blocks.append(section(f"*{escape(form.title)}*"))
    for f in form.fields:
        if f.options:
            options = [{"text": _text(o.capitalize()), "value": o} for o in f.options]  # "Approve"
            element: Block = {"type": "static_select", "action_id": INPUT, "options": options}
            chosen = next((o for o in options if o["value"] == f.value), None)
            if chosen is not None:  # what the field holds now (an officer's score so far)
                element["initial_option"] = chosen
        else:
            element = {"type": "plain_text_input", "action_id": INPUT, "multiline": f.multiline}
            if f.max_length:
                element["max_length"] = min(f.max_length, 3000)  # Slack's own ceiling for a text input
            if f.value:
                element["initial_value"] = f.value
        if f.placeholder:
            element["placeholder"] = {"type": "plain_text", "text": _cut(f.placeholder, 150)}
        blocks.append(
            {
                "type": "input",
                "block_id": f.name,
                "label": {"type": "plain_text", "text": _cut(f.label, 2000)},
                "optional": f.optional,
                "element": element,
            }
        )
    meta = json.dumps({**metadata, "form": form_to_json(form)}, separators=(",", ":"))
    if len(meta) > MAX_METADATA:
        raise ValueError("form too large for a modal's private_metadata")
    return {
        "type": "modal",
        "callback_id": FORM_VIEW,
        "title": {"type": "plain_text", "text": modal_title(form.title)},
        "submit": {"type": "plain_text", "text": _cut(form.submit_label, MAX_TITLE)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": meta,
        "blocks": blocks,
    }


def form_values(form: Form, state: dict[str, Any]) -> dict[str, str]:
    """The typed or chosen value of each field from a view_submission's `view.state.values`."""
    values: dict[str, str] = {}
    for f in form.fields:
        element = (state.get(f.name) or {}).get(INPUT) or {}
        if not isinstance(element, dict):
            continue
        chosen = element.get("selected_option")
        value = chosen.get("value") if isinstance(chosen, dict) else element.get("value")
        if isinstance(value, str):
            values[f.name] = value
    return values


def checked_values(state: dict[str, Any]) -> list[str]:
    """Every checked option of the multiple-choice checkbox groups in a block_actions `state.values`."""
    found: list[str] = []
    for block in state.values() if isinstance(state, dict) else ():
        if not isinstance(block, dict):
            continue
        for action_id, element in block.items():
            if str(action_id).startswith(MULTI) and isinstance(element, dict):
                for option in element.get("selected_options") or []:
                    if isinstance(option, dict) and isinstance(option.get("value"), str):
                        found.append(option["value"])
    return found
