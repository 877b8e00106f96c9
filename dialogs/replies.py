"""What the dialogs say, independent of any platform. Adapters render these as Block Kit, Adaptive Cards
or console text; buttons send their `action` string back as the next turn."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEP = "|"


def action(kind: str, *parts: str) -> str:
    """Actions are short strings so they fit in a Slack button value or a Teams card's data."""
    return SEP.join((kind, *parts))


def parse_action(raw: str) -> tuple[str, list[str]]:
    kind, *parts = raw.split(SEP)
    return kind, parts


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    placeholder: str = ""
    multiline: bool = False
    optional: bool = False
    prefix: str = ""  # put before the value in the command, e.g. "for " or "at "
    options: tuple[str, ...] = ()  # a choice instead of free text
    max_length: int | None = None  # the longest text the field takes (a question's own limit), if it has one


@dataclass(frozen=True)
class Form:
    """Input gathered on a modal (Slack) or a card (Teams). On submit the adapter sends `command_for(values)`
    as a command turn; problems come back in Reply.field_errors, keyed by field name."""

    title: str
    fields: tuple[FormField, ...]
    command: str
    submit_label: str = "Submit"

    def command_for(self, values: dict[str, str]) -> str:
        parts = [self.command]
        for f in self.fields:
            raw = values.get(f.name) or ""
            if f.multiline:  # the lines of a multi-line answer are kept
                value = "\n".join(" ".join(line.split()) for line in raw.strip().splitlines())
            else:
                value = " ".join(raw.split())
            if value:
                parts.append(f.prefix + value)
        return " ".join(parts)


@dataclass(frozen=True)
class Choice:
    label: str
    action: str
    style: str = ""  # "primary" | "danger" | "" (platforms that can, colour the button)
    form: Form | None = None


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    change: Choice | None = None


@dataclass
class Reply:
    text: str
    kind: str = "message"  # "question" | "review" | "summary" | "list" | "notice" | "error" | "message"
    title: str = ""
    choices: list[Choice] = field(default_factory=list)
    multi: bool = False  # choose several, then Done
    selected: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    question_id: str = ""
    answer_type: str = ""  # the question's type (dialogs.questions.TYPES) when this reply asks one
    field_errors: dict[str, str] = field(default_factory=dict)
    file: tuple[str, str] | None = None  # (filename, content) e.g. an export
    # (filename, PNG as base64, a description of the picture): a chart, shown as an image where the platform can
    image: tuple[str, str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        data = dict(data)
        data["choices"] = [_choice(c) for c in data.get("choices", [])]
        data["facts"] = [
            Fact(f["label"], f["value"], _choice(f["change"]) if f.get("change") else None)
            for f in data.get("facts", [])
        ]
        if data.get("file"):
            data["file"] = tuple(data["file"])
        if data.get("image"):
            data["image"] = tuple(data["image"])
        return cls(**data)


def _choice(c: dict[str, Any]) -> Choice:
    form = c.get("form")
    if form:
        form = Form(
            title=form["title"],
            fields=tuple(FormField(**{**f, "options": tuple(f.get("options", ()))}) for f in form["fields"]),
            command=form["command"],
            submit_label=form.get("submit_label", "Submit"),
        )
    return Choice(label=c["label"], action=c["action"], style=c.get("style", ""), form=form)


def say(text: str, **kwargs: Any) -> Reply:
    return Reply(text=text, **kwargs)


def refuse(text: str, **kwargs: Any) -> Reply:
    return Reply(text=text, kind="error", **kwargs)
