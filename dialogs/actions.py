"""What a button does, as typed values: the dialogs build them, every channel carries them on its buttons and
gives them back as the next turn. Nothing outside this module reads or writes their encoded form.

A channel puts `encode(action)` in a button's value (a Slack button, a Teams card's data, a web page's JSON) and
turns what comes back into an action with `decode(value)`. Encoded, an action is a short JSON array, its kind
first (`["answer","primary_need","ASD"]`), well under a Slack button value's 2,000 characters. A button shown for
one EOI ends with an object naming it and its state then (`["change","places",{"eoi":12,"state":"draft"}]`):
pressed once the EOI has moved on, it is refused, saying where the EOI is now. `decode` never raises: anything
that isn't an action we make (forged, cut short, from another program) comes back as `Unreadable`, which the
dialog refuses in words. Buttons posted before actions were typed carried `kind|part|part` strings, and before
they named their EOI, no object; `decode` still reads both, so old messages in people's chats keep working.

A button can do nothing its presser couldn't type: a `Command` is the command's words, an `Answer` the
answer's, so who may do what is decided by the dialogs as for typed words, never by trusting a button.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import ClassVar, Self

from dialogs.cleaning import clean_text, tidy

MAX_ENCODED = 2000  # a Slack button's value; Teams and the web chat take more
PART_MAX = 1000  # the longest part we make is an answer's value (a choice's code, or several ticked)
LEGACY_SEP = "|"  # the separator of the old "kind|part" strings


STATE_MAX = 40  # a state's name (storage.lifecycle), with room to spare


@dataclass(frozen=True)
class Shown:
    """The EOI a button was shown for (its id) and the state it was in then. A button pressed after the EOI has
    moved on is stale: it is refused, saying where the EOI is now, rather than acting on whatever is true now."""

    eoi: int
    state: str


@dataclass(frozen=True)
class Action:
    """A button's action. Each kind is a subclass with string fields; `kind` is its name on the wire."""

    kind: ClassVar[str] = ""
    # Not one of the kind's parts: on the wire, an object after them. Buttons posted before it existed lack it
    # and act as they did then (on the EOI the person is working on). Never compared: it says where, not what.
    shown: Shown | None = field(default=None, kw_only=True, compare=False)

    def shown_for(self, eoi: int, state: str) -> Self:
        """This action on a button shown for EOI `eoi` (its id) while it was in `state`."""
        return replace(self, shown=Shown(eoi, state))


@dataclass(frozen=True)
class Command(Action):
    """The same as typing the command's words (`start`, `show EOI-2627A-001`)."""

    kind: ClassVar[str] = "cmd"
    text: str


@dataclass(frozen=True)
class Answer(Action):
    """An answer to a question of the EOI; several ticked options are one value, separated by commas."""

    kind: ClassVar[str] = "answer"
    question: str
    value: str

    def ticked(self, values: list[str]) -> Answer:
        """This question answered with the options ticked on a card or in checkboxes, then Done."""
        return replace(self, value=",".join(v.strip() for v in values if v.strip()))


@dataclass(frozen=True)
class _AboutQuestion(Action):
    question: str  # the question's id in dialogs/questions/eoi.yaml


@dataclass(frozen=True)
class KeepAnswer(_AboutQuestion):
    """Keep the answer already given (a question asked again after an answer it depends on changed)."""

    kind: ClassVar[str] = "keep"


@dataclass(frozen=True)
class ChangeAnswer(_AboutQuestion):
    """Change this answer, from the review."""

    kind: ClassVar[str] = "change"


@dataclass(frozen=True)
class Sure(_AboutQuestion):
    """Yes: what I understood from your answer is right."""

    kind: ClassVar[str] = "sure"


@dataclass(frozen=True)
class NotSure(_AboutQuestion):
    """No: nothing is saved, and the question is asked again."""

    kind: ClassVar[str] = "unsure"


STEPS = ("submit", "save", "review", "back", "cancel-confirmed", "cancel-kept")


@dataclass(frozen=True)
class Step(Action):
    """A step of the EOI dialog: submit, save for later, review, back, delete the draft or keep it."""

    kind: ClassVar[str] = "step"
    name: str

    def __post_init__(self) -> None:
        if self.name not in STEPS:
            raise ValueError(f"no step {self.name!r}")


@dataclass(frozen=True)
class DiscussionReply(Action):
    """A school's answer to a discussion invitation, naming the EOI (any school the person acts for may answer)."""

    kind: ClassVar[str] = "reply"
    answer: str  # "accept" | "another"
    ref: str

    def __post_init__(self) -> None:
        if self.answer not in ("accept", "another"):
            raise ValueError(f"no discussion reply {self.answer!r}")


@dataclass(frozen=True)
class OpenForm(Action):
    """A button that opens a form where the platform has forms; pressed as a plain button, it only says so."""

    kind: ClassVar[str] = "form"
    name: str
    subject: str = ""


@dataclass(frozen=True)
class SubmitForm(Action):
    """A form submitted (a Slack modal, a Teams card): the command it is for (`answer places`, `schedule
    EOI-2627A-001`) and each field's value by the field's name, its words tidied as typed words are. The dialog
    reads a value as it is, never back out of one line of words; a field with a prefix (`at ` a place) carries
    it, as the command's words do. Cards posted before forms were actions send `answer QID TEXT` as a typed
    command, which is still read."""

    kind: ClassVar[str] = "form-submit"
    command: str
    values: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # Made clean however it was made (an adapter's submitted values, or decoded): frozen, hence __setattr__.
        cleaned = tuple((clean_text(name, PART_MAX), tidy(clean_text(value))) for name, value in self.values)
        object.__setattr__(self, "command", " ".join(clean_text(self.command, PART_MAX).split()))
        object.__setattr__(self, "values", cleaned)

    @property
    def by_name(self) -> dict[str, str]:
        return dict(self.values)

    @property
    def words(self) -> str:
        """The form as its command typed: the command, then each value given, in the form's order."""
        return " ".join([self.command, *(value for _, value in self.values if value)])


@dataclass(frozen=True)
class Unreadable(Action):
    """What came back isn't an action we make (`reason` says why). Never on a button: only `decode` makes it."""

    kind: ClassVar[str] = "unreadable"
    reason: str


KINDS: dict[str, type[Action]] = {
    c.kind: c
    for c in (Command, Answer, KeepAnswer, ChangeAnswer, Sure, NotSure, Step, DiscussionReply, OpenForm, SubmitForm)
}


def _parts(cls: type[Action] | Action) -> list[Field[str]]:
    """A kind's parts, in order (`shown` is not one of them)."""
    return [f for f in fields(cls) if not f.kw_only]


def encode(action: Action) -> str:
    if type(action) not in KINDS.values():
        raise ValueError(f"{type(action).__name__} can't be put on a button")
    if isinstance(action, SubmitForm):  # its values, name then value, after the command
        parts: list[str] = [action.command, *(part for pair in action.values for part in pair)]
    else:
        parts = [getattr(action, f.name) for f in _parts(action)]
    wire: list[object] = [action.kind, *parts]
    if action.shown is not None:
        wire.append({"eoi": action.shown.eoi, "state": action.shown.state})
    encoded = json.dumps(wire, separators=(",", ":"))
    if len(encoded) > MAX_ENCODED:
        raise ValueError(f"a button's action over {MAX_ENCODED} characters: {encoded[:80]}…")
    return encoded


def decode(value: object) -> Action:
    """The action a button's value names, or Unreadable saying what is wrong with it."""
    if not isinstance(value, str) or not value.strip():
        return Unreadable("no action")
    if len(value) > MAX_ENCODED:
        return Unreadable("too long")
    if value.startswith("["):
        try:
            parts = json.loads(value)
        except (ValueError, RecursionError):
            return Unreadable("not an action")
        shown = parts.pop() if isinstance(parts, list) and parts and isinstance(parts[-1], dict) else None
        if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
            return Unreadable("not an action")
        made = _make(parts[0], parts[1:])
        if shown is None or isinstance(made, Unreadable):
            return made
        return _shown(made, shown)
    return _legacy(value)


def _shown(action: Action, shown: dict[object, object]) -> Action:
    """The action as shown for an EOI in a state, or Unreadable if that isn't what we put there."""
    eoi, state = shown.get("eoi"), shown.get("state")
    if set(shown) != {"eoi", "state"} or type(eoi) is not int or not isinstance(state, str):
        return Unreadable("not an action")
    if eoi < 1 or not state or len(state) > STATE_MAX:
        return Unreadable("not an action")
    return action.shown_for(eoi, clean_text(state))


def _make(kind: str, parts: list[str]) -> Action:
    cls = KINDS.get(kind)
    if cls is None:
        return Unreadable(f"no kind {kind[:40]!r}")
    if cls is SubmitForm:
        return _submitted(parts)
    names = [f.name for f in _parts(cls)]
    required = [f.name for f in _parts(cls) if f.default is MISSING]
    if not len(required) <= len(parts) <= len(names):
        return Unreadable(f"{kind} takes {len(names)} parts, not {len(parts)}")
    if any(len(p) > PART_MAX for p in parts):
        return Unreadable("a part is too long")
    try:
        return cls(*(clean_text(p) for p in parts))
    except ValueError as error:
        return Unreadable(str(error))


def _submitted(parts: list[str]) -> Action:
    """A submitted form: its command, then each field's name and value."""
    if not parts or len(parts) % 2 != 1:
        return Unreadable(f"{SubmitForm.kind} takes a command and names with values, not {len(parts)} parts")
    if any(len(p) > PART_MAX for p in parts):
        return Unreadable("a part is too long")
    pairs = tuple(zip(parts[1::2], parts[2::2], strict=True))
    return SubmitForm(clean_text(parts[0]), tuple((clean_text(n), clean_text(v)) for n, v in pairs))


def _legacy(value: str) -> Action:
    """A `kind|part|…` string from a button posted before actions were typed."""
    kind, *parts = value.split(LEGACY_SEP)
    if kind == "cmd":
        return _make("cmd", [" ".join(parts)])
    if kind == "a":
        return _make("answer", [parts[0] if parts else "", LEGACY_SEP.join(parts[1:])])
    if kind in STEPS:
        return _make("step", [kind, *parts])
    return _make(kind, parts)
