"""Each person's conversation state (dialogs.conversation_state): what is stored reads back as it was, rows from
before the state was typed (the old `Person.pending`) still read, and a row this build can't read makes the
person idle, with a log line, rather than stopping their turns."""

from __future__ import annotations

import json
import logging

import pytest

from dialogs import conversation_state as cs
from dialogs.conversation_state import (
    Answering,
    AwaitingTimes,
    Changing,
    CheckingAnswer,
    CheckingStep,
    ConfirmingCancel,
    Declaring,
    FillingIn,
    Idle,
    Reviewing,
)

EVERY_STATE = [
    Idle(),
    Idle(eoi=7),
    Idle(eoi=7, place=Answering("places")),
    FillingIn(eoi=7),
    FillingIn(eoi=7, place=Answering("primary_need")),
    FillingIn(eoi=7, place=Changing("start")),
    FillingIn(eoi=7, place=Reviewing()),
    FillingIn(eoi=7, place=Declaring()),
    CheckingAnswer(
        eoi=7,
        place=Changing("start"),
        question="start",
        value="2027-09",
        note=[{"text": "That is "}, {"text": "next year", "style": "bold"}],
        also={"start_detail": "the first week"},
    ),
    CheckingAnswer(eoi=None, place=None, question="places", value=12, note="", also={}),
    ConfirmingCancel(eoi=3, place=Reviewing()),
    AwaitingTimes(eoi=7, place=Answering("places"), times_for=9),
    AwaitingTimes(times_for=9),
    CheckingStep(yes="schedule EOI-2627A-001 confirm 2026-12-03 03:00 for 60 minutes", no="show EOI-2627A-001"),
    CheckingStep(eoi=7, place=Reviewing(), yes="window open 2627A confirm", no="window list"),
]


@pytest.mark.parametrize("state", EVERY_STATE, ids=repr)
def test_every_state_reads_back_as_it_was_stored_through_json(state: cs.State) -> None:
    stored = json.loads(json.dumps(cs.to_json(state)))  # as the database hands it back
    assert stored["v"] == cs.VERSION
    assert cs.from_json(stored) == state


def test_an_empty_column_is_idle() -> None:
    assert cs.from_json({}) == Idle()
    assert cs.from_json(None) == Idle()


@pytest.mark.parametrize(
    ("pending", "expected"),
    [
        ({"eoi": 4}, Idle(eoi=4)),
        ({"eoi": 4, "dialog": "eoi"}, FillingIn(eoi=4)),
        ({"dialog": "eoi"}, FillingIn()),
        ({"eoi": 4, "dialog": "eoi", "confirm": "cancel"}, ConfirmingCancel(eoi=4)),
        (
            {
                "eoi": 4,
                "dialog": "eoi",
                "confirm": "answer",
                "question": "start",
                "value": "2027-09",
                "note": "Term starts then.",
                "also": {},
            },
            CheckingAnswer(eoi=4, question="start", value="2027-09", note="Term starts then.", also={}),
        ),
        ({"eoi": 4, "dialog": "another time", "times_for": 4}, AwaitingTimes(eoi=4, times_for=4)),
        ({"eoi": 4, "confirm": "cancel"}, Idle(eoi=4)),  # a cancel asked, then the dialog left
        ({"eoi": True}, Idle()),  # not an EOI's id
    ],
)
def test_a_row_from_before_states_were_typed_reads_as_the_state_it_meant(pending: dict, expected: cs.State) -> None:
    assert cs.from_json(pending) == expected


@pytest.mark.parametrize(
    "row",
    [
        {"v": 1, "state": "dancing", "eoi": 4},  # a state a later build added
        {"v": 2, "state": "idle"},  # a later version
        {"v": 1, "state": "filling in", "eoi": 4, "place": "somewhere"},
        {"v": 1, "state": "filling in", "eoi": 4, "place": "answering"},  # no question
        {"v": 1, "state": "awaiting times", "eoi": 4},  # no EOI to ask times for
        {"v": 1, "state": "checking answer", "eoi": 4},  # no reading
        {"v": 1, "state": "awaiting times", "times_for": "lots"},
        ["not", "an", "object"],
    ],
)
def test_a_state_this_build_cannot_read_is_idle_with_a_log_line(row: object, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="eoi-bot.conversation"):
        assert cs.from_json(row) == Idle()
    assert any("reads as idle" in r.getMessage() for r in caplog.records), caplog.records


def test_the_steps_keep_which_eoi_and_where_in_it() -> None:
    at_places = FillingIn(eoi=7, place=Answering("places"))
    asked = cs.checking_answer(at_places, question="places", value=12, note="", also={})
    assert (asked.eoi, asked.place) == (7, Answering("places"))
    assert cs.filling_in(asked) == at_places  # yes, no, or anything else: back in the dialog, at the same place
    assert cs.idle(cs.confirming_cancel(at_places)) == Idle(eoi=7, place=Answering("places"))
    waiting = cs.awaiting_times(at_places, 9)
    assert cs.idle(waiting) == Idle(eoi=7, place=Answering("places"))  # `start` carries on at places
    assert cs.at(waiting, 7, Reviewing()) == AwaitingTimes(eoi=7, place=Reviewing(), times_for=9)
    assert cs.place_in(at_places, 7) == Answering("places")
    assert cs.place_in(at_places, 8) is None  # a place in one EOI says nothing of another


def test_working_on_another_eoi_forgets_the_place_in_the_first() -> None:
    at_places = FillingIn(eoi=7, place=Answering("places"))
    assert cs.working_on(at_places, 7) == at_places
    assert cs.working_on(at_places, 8) == FillingIn(eoi=8)
