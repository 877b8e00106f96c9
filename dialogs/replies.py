"""What the dialogs say, independent of any platform. Channels render these as Block Kit, Adaptive Cards
or console text. A reply's text is rich text (dialogs.rich); a button carries a typed action (dialogs.actions),
which comes back as the next turn."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

from dialogs.actions import Action, Answer, SubmitForm, decode, encode
from dialogs.rich import Text, text_of


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
    value: str = ""  # what the box holds when it opens: the current answer, to edit rather than retype


@dataclass(frozen=True)
class Form:
    """Input gathered on a modal (Slack) or a card (Teams). On submit the adapter sends `submitted(values)`, a
    typed action; problems come back in Reply.field_errors, keyed by field name."""

    title: str
    fields: tuple[FormField, ...]
    command: str
    submit_label: str = "Submit"

    def submitted(self, values: dict[str, str]) -> SubmitForm:
        """What the form sends: each field's value by its name, in the form's order (with its prefix, if any)."""
        return SubmitForm(self.command, tuple((f.name, _as_typed(f, values.get(f.name) or "")) for f in self.fields))

    def command_for(self, values: dict[str, str]) -> str:
        """The form's values as the command's words, as someone would type them."""
        return self.submitted(values).words


def _as_typed(field: FormField, raw: str) -> str:
    if field.multiline:  # the lines of a multi-line answer are kept
        value = "\n".join(" ".join(line.split()) for line in raw.strip().splitlines())
    else:
        value = " ".join(raw.split())
    return field.prefix + value if value else ""


@dataclass(frozen=True)
class Choice:
    label: str  # literal: a button's words are never markup
    action: Action
    style: str = ""  # "primary" | "danger" | "" (platforms that can, colour the button)
    form: Form | None = None


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    change: Choice | None = None


# A Reply of this kind is a copy of what someone sent, for their records (a school's PDF of its EOI): an email of it
# says so, rather than why the school is written to by email (bot.email_sender).
COPY = "copy"


@dataclass
class Reply:
    text: Text  # a str given here is taken as literal text
    kind: str = "message"  # "question" | "review" | "summary" | "list" | "notice" | "error" | "message" | COPY
    title: str = ""
    choices: list[Choice] = field(default_factory=list)
    multi: bool = False  # choose several, then Done
    selected: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    question_id: str = ""
    answer_type: str = ""  # the question's type (dialogs.questions.TYPES) when this reply asks one
    field_errors: dict[str, str] = field(default_factory=dict)  # a Text given here keeps its marks as plain text
    # (filename, content): text (an export's CSV, an .ics) or bytes (a school's PDF copy of its EOI)
    file: tuple[str, str | bytes] | None = None
    # (filename, PNG as base64, a description of the picture): a chart, shown as an image where the platform can
    image: tuple[str, str, str] | None = None
    # The command that makes this reply's file again and changes nothing (`copy EOI-…`), for a platform that takes a
    # file only once the person allows it (Teams): "" when the command that asked (an export) does that itself.
    remake: str = ""
    # The reference this reply confirms (an EOI just sent): the web form shows it in a confirmation panel.
    reference: str = ""

    def __post_init__(self) -> None:
        self.text = text_of(self.text)
        # A form shows its problems as plain text; words to type keep their `backticks` there.
        self.field_errors = {k: v.markup if isinstance(v, Text) else v for k, v in self.field_errors.items()}

    @property
    def private(self) -> bool:
        """Only for the person who asked, in their private chat with the bot, wherever they asked: a file (an
        export) and the EOI dialog's questions and review."""
        return bool(self.file) or self.kind in ("question", "review")

    def options(self) -> tuple[list[tuple[str, str]], list[Choice]]:
        """A multiple-choice question's options as (value, label), for ticking; and the other choices (None of
        these, a form), which stay buttons."""
        options, others = [], []
        for choice in self.choices:
            act = choice.action
            if isinstance(act, Answer) and act.question == self.question_id and act.value not in ("", "none"):
                options.append((act.value, choice.label))
            else:
                others.append(choice)
        return options, others

    def done(self) -> Answer:
        """What the Done button of a multiple-choice question sends, once the ticked options are added."""
        return Answer(self.question_id, "")

    def to_dict(self) -> dict[str, Any]:
        """As JSON (a queued notice's body): the text's runs, and each action encoded as on a button."""
        data = asdict(self)
        data["text"] = self.text.to_json()
        if self.file is not None and isinstance(self.file[1], bytes):
            # JSON holds no bytes: base64 under its own key, so no text file's content is ever read as bytes.
            data["file"] = {"name": self.file[0], "base64": base64.b64encode(self.file[1]).decode("ascii")}
        for c, stored in zip(self.choices, data["choices"], strict=True):
            stored["action"] = encode(c.action)
        for f, stored in zip(self.facts, data["facts"], strict=True):
            if f.change is not None:
                stored["change"]["action"] = encode(f.change.action)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        data = dict(data)
        data["text"] = Text.from_json(data.get("text", ""))
        data["choices"] = [_choice(c) for c in data.get("choices", [])]
        data["facts"] = [
            Fact(f["label"], f["value"], _choice(f["change"]) if f.get("change") else None)
            for f in data.get("facts", [])
        ]
        if isinstance(data.get("file"), dict):
            data["file"] = (data["file"]["name"], base64.b64decode(data["file"]["base64"]))
        elif data.get("file"):
            data["file"] = tuple(data["file"])  # (name, text), as every file was stored before bytes
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
    return Choice(label=c["label"], action=decode(c["action"]), style=c.get("style", ""), form=form)


def say(text: str | Text, **kwargs: Any) -> Reply:
    return Reply(text=text_of(text), **kwargs)


def refuse(text: str | Text, **kwargs: Any) -> Reply:
    return Reply(text=text_of(text), kind="error", **kwargs)


def check_first(asked: str, reasons: list[str], done: str, yes: Choice, no: Choice) -> Reply:
    """A step done only once the officer says yes (a discussion or a window's opening or close at an unusual
    time, two discussions at once): what would happen, what to check, and that nothing is `done` until then."""
    return Reply(
        text=f"{asked} Please check: {'; '.join(reasons)}. Nothing is {done} until you say yes.",
        kind="question",
        choices=[yes, no],
    )
