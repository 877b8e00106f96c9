"""The EOI's life is one table (storage/lifecycle.py): these check the table itself; the stories that walk
through it live with the dialogs' tests."""

from __future__ import annotations

from dialogs.lifecycle_words import CAN, PAST, SHORTLISTING_RULE, next_steps, refusal
from storage.lifecycle import (
    DRAFT,
    EVENTS,
    FINISHED,
    LIFE,
    OFFICER,
    SCHOOL,
    SHORTLISTED,
    STATES,
    SUBMITTED,
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


def test_every_event_has_its_words_and_every_state_says_what_can_happen_next() -> None:
    assert set(PAST) == set(CAN) == set(EVENTS)
    assert next_steps("submitted").markup == (
        "the school can change its answers while its window is open (type *review*) or withdraw it; "
        "an officer can shortlist it or mark it not shortlisted"
    )
    # Approved is a decision made, and support through implementation follows: not "nothing further".
    assert next_steps("approved").plain == (
        "an officer can mark first pupils done once every other milestone is (the provision opens) or reopen it "
        "within 14 days"
    )
    assert next_steps("declined").plain.startswith("nothing further: a decision has been made (though an officer can")
    assert (
        next_steps("opened").plain
        == "nothing further: the provision is open (though an officer can reopen it within 14 days)"
    )
    assert next_steps("under consideration").plain == (
        "the school can withdraw it; an officer can approve it or decline it (with a reason for the school)"
    )


def test_a_refusal_says_why_from_the_data() -> None:
    assert str(refusal(NotAllowed("EOI-2627A-001", "withdrawn", "shortlist", "state"))).startswith(
        "EOI-2627A-001 is withdrawn, so it can't be shortlisted: "
    )
    assert "only while its window is open" in refusal(NotAllowed("EOI-2627A-001", "submitted", "amend", "window"))
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
