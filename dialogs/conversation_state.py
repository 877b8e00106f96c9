"""Where each person's conversation is waiting: one typed state, kept as versioned JSON in `people.conversation`.

A person is in exactly one state. What their next message is for follows from it (`dialogs.conversation` asks
`takes_text`): nothing in particular (`Idle`: a message is a command), the EOI dialog (`FillingIn`), a yes or no
to a reading of their answer (`CheckingAnswer`), to deleting their draft (`ConfirmingCancel`) or to an officer's
step asked about first (`CheckingStep`), or the times that would suit for a discussion (`AwaitingTimes`). Every
state also remembers which EOI the person is working on (a school may have an RP and a PP in one window) and their
place in its questions (`Place`), so `start` carries on where they left off, across restarts.

The JSON carries `"v"`. Rows written before this module (no `"v"`: the old `Person.pending` keys) still read, and
a state this build doesn't know reads as `Idle`, with a log line, rather than stopping the person's turns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from storage.models import Person

log = logging.getLogger("eoi-bot.conversation")

VERSION = 1


# A person's place in an EOI's questions.
@dataclass(frozen=True)
class Answering:
    """Asked `question`: an answer goes on to the question after it."""

    question: str


@dataclass(frozen=True)
class Changing:
    """Changing the answer to `question` (picked from the review, or asked again because an answer it depends on
    changed): then any question still unanswered, then back to the review."""

    question: str


@dataclass(frozen=True)
class Reviewing:
    """At the review: every answer shown, each with a way to change it, and Submit."""


@dataclass(frozen=True)
class Declaring:
    """Asked to confirm the declaration before the EOI is submitted."""


Place = Answering | Changing | Reviewing | Declaring


# What the person's next message is for.
@dataclass(frozen=True, kw_only=True)
class _Kept:
    """What every state keeps: the EOI the person is working on, and their place in its questions."""

    eoi: int | None = None
    place: Place | None = None


@dataclass(frozen=True, kw_only=True)
class Idle(_Kept):
    """Nothing asked: a message is a command. `start` carries on at the place kept."""


@dataclass(frozen=True, kw_only=True)
class FillingIn(_Kept):
    """In the EOI dialog: a message is read at `place` (no place yet: the first question not answered)."""


@dataclass(frozen=True, kw_only=True)
class CheckingAnswer(_Kept):
    """ "Do you mean September 2027?": an answer to `question` read with a doubt waits for yes or no. Anything
    else is read afresh in the dialog."""

    question: str
    value: Any = None
    note: Any = ""  # plain words, or rich text's runs (dialogs.rich.Text.to_json)
    also: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ConfirmingCancel(_Kept):
    """ "Cancel this draft?": yes deletes the answers; anything else keeps going."""


@dataclass(frozen=True, kw_only=True)
class AwaitingTimes(_Kept):
    """Asked which times would suit for EOI `times_for`'s discussion (dialogs.discussion_replies)."""

    times_for: int


@dataclass(frozen=True, kw_only=True)
class CheckingStep(_Kept):
    """ "Please check: … Nothing is booked until you say yes": an officer's step asked about before it is done
    (a discussion or a window's dates at an unusual time). Yes runs `yes` (the exact command, confirmed), no runs
    `no`; anything else is read afresh, and the question is dropped either way."""

    yes: str
    no: str


State = Idle | FillingIn | CheckingAnswer | ConfirmingCancel | AwaitingTimes | CheckingStep

# The names states and places are stored under: never change one (rows hold them), add new ones.
_STATES: dict[str, type[_Kept]] = {
    "idle": Idle,
    "filling in": FillingIn,
    "checking answer": CheckingAnswer,
    "confirming cancel": ConfirmingCancel,
    "awaiting times": AwaitingTimes,
    "checking step": CheckingStep,
}
_PLACES: dict[str, type[Answering | Changing | Reviewing | Declaring]] = {
    "answering": Answering,
    "changing": Changing,
    "reviewing": Reviewing,
    "declaring": Declaring,
}


# Transitions: each names the step, and keeps which EOI and where in it unless the step is about that.
def idle(state: State) -> Idle:
    """Out of any conversation (saved for later, submitted, a command instead): the EOI and place are kept."""
    return Idle(eoi=state.eoi, place=state.place)


def filling_in(state: State) -> FillingIn:
    """Into the EOI dialog (or back to it from a question asked in it), at the place kept."""
    return FillingIn(eoi=state.eoi, place=state.place)


def working_on(state: State, eoi: int) -> State:
    """The person works on EOI `eoi` now; a place kept was in another EOI, so it goes."""
    return state if state.eoi == eoi else replace(state, eoi=eoi, place=None)


def at(state: State, eoi: int, place: Place | None) -> State:
    """The dialog moves to `place` in EOI `eoi`; whatever the person was asked stays asked."""
    return replace(state, eoi=eoi, place=place)


def checking_answer(state: State, *, question: str, value: Any, note: Any, also: dict[str, Any]) -> CheckingAnswer:
    return CheckingAnswer(eoi=state.eoi, place=state.place, question=question, value=value, note=note, also=also)


def confirming_cancel(state: State) -> ConfirmingCancel:
    return ConfirmingCancel(eoi=state.eoi, place=state.place)


def awaiting_times(state: State, times_for: int) -> AwaitingTimes:
    return AwaitingTimes(eoi=state.eoi, place=state.place, times_for=times_for)


def checking_step(state: State, *, yes: str, no: str) -> CheckingStep:
    return CheckingStep(eoi=state.eoi, place=state.place, yes=yes, no=no)


def place_in(state: State, eoi: int) -> Place | None:
    """Where the person is in EOI `eoi`: None when their place is in another EOI, or not known yet."""
    return state.place if state.eoi == eoi else None


# Stored form.
def to_json(state: State) -> dict[str, Any]:
    data: dict[str, Any] = {"v": VERSION, "state": _name(_STATES, type(state))}
    if state.eoi is not None:
        data["eoi"] = state.eoi
    if state.place is not None:
        data["place"] = _name(_PLACES, type(state.place))
        if isinstance(state.place, Answering | Changing):
            data["question"] = state.place.question
    match state:
        case CheckingAnswer():
            data["reading"] = {
                "question": state.question,
                "value": state.value,
                "note": state.note,
                "also": dict(state.also),
            }
        case AwaitingTimes():
            data["times_for"] = state.times_for
        case CheckingStep():
            data["step"] = {"yes": state.yes, "no": state.no}
    return data


def from_json(data: Any) -> State:
    """The state a row holds. Never raises: a row this build can't read is `Idle` (logged), so the person's next
    message is a command, as if they had just arrived."""
    if not data:
        return Idle()
    if not isinstance(data, dict):
        log.warning("a conversation state that isn't an object reads as idle: %.200r", data)
        return Idle()
    if "v" not in data:
        return _from_pending(data)
    try:
        if data["v"] != VERSION:
            raise ValueError(f"version {data['v']!r}")
        return _from_v1(data)
    except (KeyError, TypeError, ValueError) as unreadable:
        log.warning("a conversation state this build can't read (%s) reads as idle: %.200r", unreadable, data)
        return Idle()


def _from_v1(data: dict[str, Any]) -> State:
    kind = _STATES.get(data["state"])
    if kind is None:
        raise ValueError(f"no state {data['state']!r}")
    eoi = _eoi_id(data.get("eoi"))
    place = _place(data)
    if kind is CheckingAnswer:
        reading = data["reading"]
        return CheckingAnswer(
            eoi=eoi,
            place=place,
            question=str(reading["question"]),
            value=reading.get("value"),
            note=reading.get("note", ""),
            also=dict(reading.get("also") or {}),
        )
    if kind is AwaitingTimes:
        return AwaitingTimes(eoi=eoi, place=place, times_for=int(data["times_for"]))
    if kind is CheckingStep:
        step = data["step"]
        return CheckingStep(eoi=eoi, place=place, yes=str(step["yes"]), no=str(step["no"]))
    return kind(eoi=eoi, place=place)


def _place(data: dict[str, Any]) -> Place | None:
    name = data.get("place")
    if name is None:
        return None
    kind = _PLACES.get(name)
    if kind is None:
        raise ValueError(f"no place {name!r}")
    if kind is Answering or kind is Changing:
        return kind(str(data["question"]))
    return Reviewing() if kind is Reviewing else Declaring()


def _from_pending(pending: dict[str, Any]) -> State:
    """A row from before states were typed: the old `Person.pending` keys (the place was on the EOI then; the
    migration to revision 0008 moved it here, so a row read this way starts at the first unanswered question)."""
    eoi = _eoi_id(pending.get("eoi"))
    dialog, confirm = pending.get("dialog"), pending.get("confirm")
    if dialog == "another time" and isinstance(pending.get("times_for"), int):
        return AwaitingTimes(eoi=eoi, times_for=pending["times_for"])
    if dialog != "eoi":
        return Idle(eoi=eoi)
    if confirm == "cancel":
        return ConfirmingCancel(eoi=eoi)
    if confirm == "answer" and pending.get("question"):
        return CheckingAnswer(
            eoi=eoi,
            question=str(pending["question"]),
            value=pending.get("value"),
            note=pending.get("note", ""),
            also=dict(pending.get("also") or {}),
        )
    return FillingIn(eoi=eoi)


def _eoi_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _name(names: dict[str, type], kind: type) -> str:
    return next(name for name, known in names.items() if known is kind)


def of(person: Person) -> State:
    """The state this person's conversation is in."""
    return from_json(person.conversation)


def keep(person: Person, state: State) -> None:
    """Store `state` as this person's (committed with the turn, so it survives restarts)."""
    person.conversation = to_json(state)
