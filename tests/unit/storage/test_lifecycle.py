"""The EOI's life is one table (storage/lifecycle.py): these check the table itself; the stories that walk
through it live with the dialogs' tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from dialogs.lifecycle_words import CAN, PAST, SCHOOL_CAN, SHORTLISTING_RULE, for_officers, for_school, refusal
from storage.lifecycle import (
    CLOSED,
    DRAFT,
    EVENTS,
    FINISHED,
    LIFE,
    OFFICER,
    OPEN,
    SCHOOL,
    SHORTLISTED,
    STATES,
    SUBMITTED,
    Moment,
    NotAllowed,
    steps_from,
)
from storage.lifecycle import step as table_step


def test_every_state_is_reachable_from_a_draft() -> None:
    reached, frontier = {DRAFT}, [DRAFT]
    while frontier:
        for step in steps_from(frontier.pop()):
            if step.target not in reached:
                reached.add(step.target)
                frontier.append(step.target)
    assert reached == set(STATES)


def test_no_state_is_a_dead_end_before_a_decision() -> None:
    for state in STATES:
        if state not in FINISHED:
            assert steps_from(state), f"{state} has no way forward"
    # Each step is the school's or an officer's (opening a provision too: an officer confirms first pupils), and
    # an event leads from each state to one place.
    assert {step.by for step in LIFE} == {SCHOOL, OFFICER}
    assert len({(s.event, s.source) for s in LIFE}) == len(LIFE)


NOW = datetime(2026, 12, 1, 10, 0)
CLOSES = datetime(2026, 12, 18, 17, 0)


def _at(state: str, phase: str = OPEN, *, changed_days_ago: int = 1) -> Moment:
    return Moment(state, phase, NOW, NOW - timedelta(days=changed_days_ago), NOW - timedelta(days=14), CLOSES)


def test_every_event_has_its_words_and_every_state_says_what_can_happen_next() -> None:
    assert set(PAST) == set(CAN) == set(EVENTS)
    assert for_officers(_at("submitted")).markup == (
        "an officer can shortlist it or mark it not shortlisted; the school can withdraw it or change its answers "
        "(type *review*) until Friday 18 December 2026 at 5:00pm, when its window closes"
    )
    # A head reads what is true and what they can do, with the deadline, and what ECC may do: never a list of
    # officers' steps.
    said = for_school(_at("submitted")).plain
    assert said.startswith("It is with ECC. You can withdraw it or change its answers (type review) until Friday 18")
    assert "an officer can" not in said and "ECC may shortlist it at any time" in said
    # After the close the same EOI promises no change.
    closed = for_school(_at("submitted", CLOSED)).plain
    assert "change its answers" not in closed and "can no longer be reopened for changes" in closed
    # Approved is a decision made, and support through implementation follows: not "nothing further".
    assert "reopen it until" in for_officers(_at("approved")).plain
    assert "mark first pupils done once every other milestone is" in for_officers(_at("approved")).plain
    assert for_officers(_at("opened")).plain.startswith("an officer can reopen it until")
    assert "reopen" not in for_officers(_at("approved", changed_days_ago=15)).plain
    assert for_officers(_at("declined", changed_days_ago=15)).plain == "nothing further"
    assert for_officers(_at("under consideration")).plain == (
        "an officer can approve it or decline it (with a reason for the school); the school can withdraw it"
    )
    assert set(SCHOOL_CAN) <= set(CAN)


def test_a_refusal_says_why_from_the_data() -> None:
    assert str(refusal(NotAllowed("EOI-2627A-001", "withdrawn", "shortlist", "state"))).startswith(
        "EOI-2627A-001 is withdrawn, so it can't be shortlisted."
    )
    assert "its window has closed" in refusal(NotAllowed("EOI-2627A-001", "submitted", "amend", "window", CLOSED))
    assert "within 14 days" in refusal(NotAllowed("EOI-2627A-001", "approved", "reopen", "too late"))
    assert refusal(NotAllowed("EOI-2627A-001", "submitted", "shortlist", "who")).startswith("Only an ECC officer")


def test_the_shortlisting_rule_said_to_schools_and_officers_is_the_tables() -> None:
    # "Shortlisting may begin as soon as an EOI is submitted": no wait for the window to close.
    assert "as soon as an EOI is submitted" in SHORTLISTING_RULE
    shortlist = table_step("shortlist", SUBMITTED)
    assert shortlist is not None and not shortlist.while_open and shortlist.within_days is None
    # "a school can change its answers until it is shortlisted or its window closes".
    assert "until it is shortlisted or its window closes" in SHORTLISTING_RULE
    amend = table_step("amend", SUBMITTED)
    assert amend is not None and amend.by == SCHOOL and amend.while_open
    assert table_step("amend", SHORTLISTED) is None


def test_the_table_in_the_architecture_doc_is_the_codes() -> None:
    """docs/ARCHITECTURE.md shows LIFE with its calendar and notice columns: this copy must be the code's."""
    from pathlib import Path

    from storage.lifecycle import PHASES

    doc = (Path(__file__).parents[3] / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = {line for line in doc.splitlines() if line.startswith("| ") and line.count("|") == 10}
    for s in LIFE:
        phases = "any" if s.phases == PHASES else ", ".join(s.phases)
        tells = f"{'yes' if s.tell_school else ''} | {'yes' if s.tell_officers else ''}"
        when = f"{phases} | {s.within_days or ''} | {s.needs}"
        row = f"| {s.event} | {s.source} | {s.target} | {s.by} | {when} | {tells} |"
        assert row in rows, f"docs/ARCHITECTURE.md lacks the row {row}"
    assert len([r for r in rows if not r.startswith("| event")]) == len(LIFE)
