"""Neutral replies as Teams messages: markdown text, or an Adaptive Card (schema 1.4) when there is
something to press or fill in. Plain dicts only (no botbuilder here): bot.teams_adapter turns them into
activities, and tests read them as Teams would show them.

What a card sends back (an Action.Submit's `data`, merged by Teams with the card's input values):
  {"eoi_action": "<action>"}                             a button
  {"eoi_pick": 1, "eoi_choice": "<action>"}              a long list of options shown as a drop-down
  {"eoi_done": "<action>", "eoi_values": "A,B"}          several options ticked, then Done
  (<action>: the choice's action encoded by dialogs.actions.encode; cards posted before held "kind|part" strings
  and {"eoi_multi": "<question id>"}, which are still read)
  {"eoi_form": "<Form.command>", "eoi_form_def": {...}, "f_<field>": "..."}   a form (schedule, decide...)
bot.teams_channel.action_for_value reads these back into neutral actions.

A file (an export) is offered with a file consent card in personal chat; its acceptContext carries the
command that made it, {"eoi_export": "export ..."}, so that on "Allow" the file is made afresh for the
person who allowed it and uploaded to their OneDrive.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

from dialogs.actions import Answer, encode
from dialogs.replies import Choice, Form, FormField, Reply
from dialogs.rich import Text, lines_of, rich, text_of

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
FILE_CONSENT_TYPE = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO_TYPE = "application/vnd.microsoft.teams.card.file.info"
EXPORT_CONTEXT = "eoi_export"
FILE_CONTEXT = "eoi_file"  # which of the command's files a consent card offered (an EOI's files: one card each)
# Where a file cannot be offered as a file (the Bot Framework Emulator), this much is shown in the message.
MAX_INLINE_FILE = 20_000
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.4"
# Teams refuses a message over about 100 KB (413); stay far below it.
MAX_CARD_BYTES = 40_000
MAX_CARD_TEXT = 20_000  # characters of a reply too big for its card, shown as text instead
# More options than this become a drop-down instead of a row of buttons (Teams shows few buttons well).
MAX_BUTTONS = 6
FIELD_PREFIX = "f_"
STYLES = {"primary": "positive", "danger": "destructive"}

_NEWLINE = re.compile(r"(?<!\n)\n(?!\n)")
# Literal text in Teams markdown: a backslash before each character markdown could read as markup, and before
# what would start a heading, quote or list at the beginning of a line.
_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_~[]<>&"})
_LINE_START = re.compile(r"^([ \t]*)(?:([#>+-])|(\d+)([.)]))", re.MULTILINE)
_MAY_START = tuple("#>+-0123456789 \t")


def escape(text: str) -> str:
    """Literal text, shown as it is in Teams markdown."""
    text = text.translate(_SPECIAL)
    if "\n" not in text and not text.startswith(_MAY_START):
        return text  # most runs: nothing can start a heading, quote or list
    return _LINE_START.sub(lambda m: m.group(1) + (f"\\{m[2]}" if m[2] else f"{m[3]}\\{m[4]}"), text)


EMPHASIS = {"bold": "**", "italic": "_"}  # Teams markdown's (and Adaptive Cards') marks for each emphasis


def markdown(text: str | Text, *, card: bool = False) -> str:
    """Rich text as Teams markdown: **bold**, _italic_, `code` (plain in cards, which have none), [links](…), "- " list
    items; everything else literal, escaped."""
    out = []
    for span in text_of(text):
        if span.style == "item":
            out.append("- ")
        elif span.style in EMPHASIS and span.text.strip():
            inner, mark = span.text.strip(), EMPHASIS[span.style]
            lead, trail = span.text[: len(span.text) - len(span.text.lstrip())], span.text[len(span.text.rstrip()) :]
            out.append(f"{lead}{mark}{escape(inner)}{mark}{trail}")
        elif span.style == "code" and not card and span.text.strip():
            out.append("`" + span.text.replace("`", "'") + "`")
        elif span.style == "link":
            out.append(f"[{escape(span.text)}]({span.url.replace(')', '%29').replace(' ', '%20')})")
        else:
            out.append(escape(span.text))
    # Teams drops a single line break in markdown; a blank line keeps it.
    return _NEWLINE.sub("\n\n", "".join(out))


def _text_block(text: str | Text, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": markdown(text, card=True), "wrap": True, **extra}


def _title(label: str) -> str:
    return label if len(label) <= 60 else label[:59].rstrip() + "…"


def _submit(title: str, data: dict[str, Any], style: str = "") -> dict[str, Any]:
    action: dict[str, Any] = {"type": "Action.Submit", "title": _title(title), "data": data}
    if style in STYLES:
        action["style"] = STYLES[style]
    return action


def choice_action(choice: Choice) -> dict[str, Any]:
    """A button; a choice that needs input (schedule, decide...) opens its form inside the card."""
    if choice.form is not None:
        return {"type": "Action.ShowCard", "title": _title(choice.label), "card": form_card(choice.form)}
    return _submit(choice.label, {"eoi_action": encode(choice.action)}, choice.style)


def form_card(form: Form, values: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """The form's inputs; with `values` and `errors`, filled in as submitted and each problem in red under its
    field."""
    values, errors = values or {}, errors or {}
    body: list[dict[str, Any]] = [_text_block(form.title, weight="Bolder")]
    for f in form.fields:
        body.append(_input(f, values.get(f.name, f.value)))
        if f.name in errors:
            body.append(_text_block(errors[f.name], color="Attention", spacing="None", size="Small"))
    for name, problem in errors.items():
        if name not in {f.name for f in form.fields}:
            body.append(_text_block(problem, color="Attention"))
    # JSON round trip: the dataclass holds tuples, and the card must be plain JSON. What the boxes held when
    # the card was sent isn't carried back (the inputs send what they hold now).
    definition = json.loads(json.dumps(asdict(form)))
    for field in definition["fields"]:
        field.pop("value", None)
    data = {"eoi_form": form.command, "eoi_form_def": definition}
    return {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
        "actions": [_submit(form.submit_label, data, "primary")],
    }


DEFAULT_MAX_LENGTH = 2000


def _input(f: FormField, value: str) -> dict[str, Any]:
    # Teams marks a required input with its own asterisk (isRequired, below): none added to the label.
    element: dict[str, Any] = {"id": FIELD_PREFIX + f.name, "label": f.label}
    if f.options:
        element.update(
            type="Input.ChoiceSet",
            style="compact",
            choices=[{"title": o.capitalize(), "value": o} for o in f.options],
        )
    else:
        # A question's own limit (3,000 for the vision), else room for a note.
        element.update(type="Input.Text", isMultiline=f.multiline, maxLength=f.max_length or DEFAULT_MAX_LENGTH)
        if f.placeholder:
            element["placeholder"] = f.placeholder
    if value:
        element["value"] = value
    if not f.optional:
        element.update(isRequired=True, errorMessage=f"{f.label} is needed.")
    return element


def form_from_data(data: Any) -> Form | None:
    """The Form a submitted card carried, or None if it isn't one we made."""
    if not isinstance(data, dict):
        return None
    try:
        fields = tuple(FormField(**{**f, "options": tuple(f.get("options") or ())}) for f in data.get("fields") or ())
        return Form(
            title=str(data["title"]),
            fields=fields,
            command=str(data["command"]),
            submit_label=str(data.get("submit_label") or "Submit"),
        )
    except (KeyError, TypeError):
        return None


def _multi_elements(reply: Reply) -> tuple[list[dict[str, Any]], list[Choice]]:
    """A multiple-choice question: one checkbox list; Done leads the buttons, so Done and None sit side by side."""
    ticked, others = reply.options()
    options = [{"title": label, "value": value} for value, label in ticked]
    checks: dict[str, Any] = {
        "type": "Input.ChoiceSet",
        "id": "eoi_values",
        "isMultiSelect": True,
        "style": "expanded",
        "wrap": True,
        "choices": options,
    }
    if reply.selected:
        checks["value"] = ",".join(reply.selected)
    return [checks], [MULTI_DONE, *others]


# Teams draws a card's buttons in one row, shares the row between them and never wraps their words: a label
# that doesn't fit ends in "…". Widths in characters of 14 px semibold text, for a phone's 340 px card
# (checked in Microsoft's renderer by tests/contracts/test_cards_render.py).
ROW_WIDTH = 38  # the labels of one row of buttons, each button's padding counted as 4 characters
BUTTON_WIDTH = 34  # one button alone on its row
MULTI_DONE = Choice("Done", Answer("", ""), "primary")  # a multiple-choice card's Done: sends the ticked boxes
CHOOSE = Choice("Choose", Answer("", ""), "primary")  # sends the option chosen in a list


def _fits_a_row(choices: list[Choice]) -> bool:
    return sum(len(c.label) + 4 for c in choices) <= ROW_WIDTH + 4


def _button(reply: Reply, choice: Choice) -> dict[str, Any]:
    if choice is MULTI_DONE:
        return _submit(choice.label, {"eoi_done": encode(reply.done())}, choice.style)
    return choice_action(choice)


def _choice_list(choices: list[Choice]) -> dict[str, Any]:
    """Choices too long for buttons: a list whose every label is read whole (a drop-down when there are many)."""
    return {
        "type": "Input.ChoiceSet",
        "id": "eoi_choice",
        "style": "compact" if len(choices) > MAX_BUTTONS else "expanded",
        "wrap": True,
        "placeholder": "Choose…",
        "choices": [{"title": c.label, "value": encode(c.action)} for c in choices],
    }


def _choice_elements(reply: Reply, choices: list[Choice]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(body elements, card actions) for the reply's buttons, each label readable whole at a phone's width:
    one row of buttons when they fit; else a button per row; else (a label too long even alone, or many
    choices) a list to choose from and Choose."""
    if not choices:
        return [], []
    if _fits_a_row(choices):
        return [], [_button(reply, c) for c in choices]
    plain = [c for c in choices if c.form is None and c is not MULTI_DONE]
    if len(plain) > MAX_BUTTONS or any(len(c.label) > BUTTON_WIDTH for c in plain):
        rest = [c for c in choices if c not in plain]
        body = [_choice_list(plain)]
        more = [_submit("Choose", {"eoi_pick": 1}, "primary"), *(_button(reply, c) for c in rest)]
        if _fits_a_row([CHOOSE, *rest]):
            return body, more
        return body + [{"type": "ActionSet", "actions": [a]} for a in more], []
    return [{"type": "ActionSet", "actions": [_button(reply, c)]} for c in choices], []


# A fact set gives its values what its labels leave (at most 150 px of 340): only for short values.
SHORT_FACT = 60


def _short(value: str) -> bool:
    return len(value) <= SHORT_FACT and "\n" not in value


def _fact_rows(reply: Reply) -> list[dict[str, Any]]:
    """Short facts side by side in a fact set; a long or several-line one (an answer, a history, who hears) as
    a row of its own with a line above, its value the card's whole width (beside its label or a button it
    would be a narrow column), and its Change button under it."""
    rows: list[dict[str, Any]] = []
    for fact in reply.facts:
        if fact.change is None and _short(fact.value):
            if not rows or rows[-1]["type"] != "FactSet":
                rows.append({"type": "FactSet", "separator": bool(rows), "facts": []})
            rows[-1]["facts"].append({"title": fact.label, "value": markdown(fact.value, card=True)})
            continue
        rows.append(_text_block(fact.label, weight="Bolder", spacing="Medium", separator=True))
        rows.append(_text_block(fact.value, spacing="Small"))
        if fact.change is not None:
            rows.append({"type": "ActionSet", "spacing": "Small", "actions": [choice_action(fact.change)]})
    return rows


def reply_card(reply: Reply) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if reply.title:
        body.append(_text_block(reply.title, weight="Bolder", size="Medium"))
    if reply.text:
        body.append(_text_block(reply.text, color="Attention" if reply.kind == "error" else "Default"))
    choices = list(reply.choices)
    if reply.multi:
        elements, choices = _multi_elements(reply)
        body.extend(elements)
    elements, actions = _choice_elements(reply, choices)
    facts = _fact_rows(reply)
    if sum(1 for f in reply.facts if f.change) > 3 and actions:
        # A long card to change things on (the review): what it leads to is near the top too.
        body.append({"type": "ActionSet", "actions": actions})
    body.extend(facts)
    body.extend(elements)
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        card["actions"] = actions
    return card


def needs_card(reply: Reply) -> bool:
    return bool(reply.choices or reply.facts or reply.multi or reply.title)


def attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_TYPE, "content": card}


def render(reply: Reply) -> dict[str, Any]:
    """The activity fields (text, attachments) for one reply; a picture (a report's chart) goes with it as an
    inline image attachment, which Teams shows in the conversation."""
    fields = _render(reply)
    if reply.image:
        name, encoded, _description = reply.image
        fields.setdefault("attachments", []).append(
            {"contentType": "image/png", "contentUrl": f"data:image/png;base64,{encoded}", "name": name}
        )
    return fields


def _render(reply: Reply) -> dict[str, Any]:
    if reply.file:
        name, content = reply.file
        if isinstance(content, bytes):
            # Bytes (a PDF) are never shown as text: Teams takes a bot's file only through a consent card, which
            # is offered only for a file its command can make again (bot.teams_channel.remade_on_allow).
            note = f"**{escape(name)}** could not be attached to this message in Teams."
            return {"type": "message", "text": markdown(reply.text) + "\n\n" + note, "textFormat": "markdown"}
        if len(content) > MAX_INLINE_FILE:
            note = (
                f"**{name}** is too long to show here ({len(content):,} characters): in Teams I send it as a "
                "file, or run `eoi-bot export` on the server."
            )
            return {"type": "message", "text": markdown(reply.text) + "\n\n" + note, "textFormat": "markdown"}
        text = markdown(reply.text) + f"\n\n**{escape(name)}**\n\n```\n{content}\n```"
        return {"type": "message", "text": text, "textFormat": "markdown"}
    if not needs_card(reply):
        return {"type": "message", "text": markdown(reply.text), "textFormat": "markdown"}
    card = reply_card(reply)
    if len(json.dumps(card)) > MAX_CARD_BYTES:
        # Too big to send safely: the text, the facts as lines, and only the reply's own buttons.
        lines = [rich(reply.title), reply.text, *(rich(f"{f.label}: {f.value}") for f in reply.facts)]
        shown = lines_of(x for x in lines if x)
        kept, left_out = shown.clip_lines(MAX_CARD_TEXT)
        if left_out:  # said, never silently cut: a county's window preview names hundreds of schools
            kept += (
                f"\n… and {left_out} more lines, too many for one Teams message. The console "
                "(eoi-bot chat --as officer) shows it whole."
            )
        card = reply_card(Reply(text=kept, choices=reply.choices[:MAX_BUTTONS]))
    # `text` too, so notifications and screen readers have something to say.
    summary = reply.title or reply.text.first_line().plain
    return {"type": "message", "summary": summary[:200], "attachments": [attachment(card)]}


def render_form_errors(form: Form, values: dict[str, str], reply: Reply) -> dict[str, Any]:
    """A refused form submit: the same form again, as it was filled in, each problem under its field."""
    card = form_card(form, values, reply.field_errors)
    if not any(reply.text.markup.startswith(problem) for problem in reply.field_errors.values()):
        card["body"].insert(1, _text_block(reply.text, color="Attention"))
    return {"type": "message", "summary": reply.text.plain[:200], "attachments": [attachment(card)]}


def file_consent(reply: Reply, command: str) -> dict[str, Any]:
    """Offer the reply's file: Teams asks the person to allow it into their OneDrive (personal chat only)."""
    assert reply.file is not None
    name, content = reply.file
    context = {EXPORT_CONTEXT: command, FILE_CONTEXT: name}
    consent = {
        "description": reply.text.plain[:200],
        "sizeInBytes": len(content if isinstance(content, bytes) else content.encode("utf-8")),
        "acceptContext": context,
        "declineContext": context,
    }
    return {
        "type": "message",
        "summary": f"{name}: allow it into your OneDrive to download it",
        "attachments": [{"contentType": FILE_CONSENT_TYPE, "name": name, "content": consent}],
    }


def file_elsewhere(reply: Reply, command: str = "export") -> dict[str, Any]:
    """A file asked for in a channel or group chat: never shown there; it comes in personal chat, by `command`."""
    assert reply.file is not None
    name, words = escape(reply.file[0]), command.replace("`", "'")
    note = f"I send files such as **{name}** in our personal chat only: message me `{words}` there."
    return {"type": "message", "text": markdown(reply.text) + "\n\n" + note, "textFormat": "markdown"}


def file_info(text: Text, name: str, content_url: str, unique_id: str, file_type: str) -> dict[str, Any]:
    """The uploaded file, as a card the person opens or downloads from their OneDrive."""
    return {
        "type": "message",
        "text": markdown(text),
        "textFormat": "markdown",
        "attachments": [
            {
                "contentType": FILE_INFO_TYPE,
                "contentUrl": content_url,
                "name": name,
                "content": {"uniqueId": unique_id, "fileType": file_type},
            }
        ],
    }
