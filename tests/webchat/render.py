"""The web chat's renderer: a neutral Reply as plain JSON. Buttons carry their action encoded
(dialogs.actions.encode), which the page sends back as the next turn."""

from __future__ import annotations

import base64
from typing import Any

from dialogs.actions import encode
from dialogs.replies import Choice, Reply


def button(choice: Choice) -> dict[str, Any]:
    shown: dict[str, Any] = {"label": choice.label, "action": encode(choice.action)}
    if choice.form:  # a form's words are typed as a command, as on the console
        fields = " ".join(f"[{f.prefix}{f.name.upper()}]" if f.optional else f.name.upper() for f in choice.form.fields)
        shown["type"] = f"{choice.form.command} {fields}"
    return shown


def file(attached: tuple[str, str | bytes]) -> dict[str, Any]:
    """A file as JSON: text as it is, bytes (a PDF) as base64 under their own key, for the page to download."""
    name, content = attached
    if isinstance(content, bytes):
        return {"name": name, "base64": base64.b64encode(content).decode("ascii")}
    return {"name": name, "content": content}


def render(reply: Reply) -> dict[str, Any]:
    # A form on a question only offers a larger box to write in; here the answer is typed as text anyway.
    choices = [c for c in reply.choices if not (c.form and reply.kind == "question")]
    return {
        "kind": reply.kind,
        "title": reply.title,
        "text": reply.text.plain,
        "runs": reply.text.to_json(),  # the same text with its emphasis (bold, code, links, list items) to style
        "buttons": [button(c) for c in choices],
        "multi": reply.multi,
        "facts": [
            {"label": f.label, "value": f.value, "change": button(f.change) if f.change else None} for f in reply.facts
        ],
        "problems": reply.field_errors,
        "file": file(reply.file) if reply.file else None,
    }
