"""A shortlisted school's discussion in Slack, end to end over signed HTTP (issue 13, "Discussion"): the
invitation with its agenda goes to the school's channel and its head, the calendar invitation is shared as an
.ics file; the head asks for another time by button and types the times, the officer books one with a button,
the head accepts the moved discussion, and after it the officer records a follow-up on the form the head then
sees in `status`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from icalendar import Calendar

from storage.clock import Clock
from tests import chat
from tests.conftest import LONDON, NOW
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import HEAD_ID, OFFICER_ID, SCHOOL_CHANNEL, SCHOOL_URN, Workspace, slack_workspace, text_of


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


def calendar_files(slack: Workspace, name: str) -> list[dict]:
    """The .ics files shared in the school's channel, oldest first."""
    return [f for f in slack.fake.shared_files(SCHOOL_CHANNEL) if f["name"] == name]


def vevent(shared: dict):
    calendar = Calendar.from_ical(shared["content"])
    (found,) = calendar.walk("VEVENT")
    return calendar, found


async def test_a_school_moves_and_accepts_its_discussion_in_slack_and_sees_its_follow_up(slack: Workspace) -> None:
    # The school's EOI, submitted (typed in the console: this story is about what follows) and shortlisted.
    submitted = await chat.complete_eoi(await chat.headteacher(slack.service, urn=SCHOOL_URN, user="typist"))
    ref = re.search(r"EOI-2627A-\d{3}", submitted).group(0)
    head, officer = slack.person(HEAD_ID), slack.person(OFFICER_ID)
    await head.types("status")  # the head, matched by email, now hears for the school
    await officer.slash(f"shortlist {ref}")
    await officer.slash(f"schedule {ref} Tuesday at 2pm at County Hall, Chelmsford with Jo Smith (SEND lead)")
    assert "Scheduled" in officer.text and "calendar invitation" in officer.text
    await slack.deliver_notices()

    # The channel gets the .ics as a file, then the invitation with the agenda and buttons.
    (first,) = calendar_files(slack, f"discussion-{ref}.ics")
    calendar, event = vevent(first)
    assert calendar["METHOD"] == "REQUEST" and event["SEQUENCE"] == 0
    assert event["DTSTART"].dt == datetime(2026, 12, 1, 14, 0, tzinfo=LONDON)
    assert str(event["ORGANIZER"]) == "mailto:officer@essex.example"  # the booking officer, as Slack knows them
    assert str(event["LOCATION"]) == "County Hall, Chelmsford"
    assert "Calendar invitation" in first["initial_comment"]
    invitation = slack.posted_to(HEAD_ID)[-1]
    shown = text_of(invitation)
    assert "invites you" in shown and "Admissions and placement" in shown and "Jo Smith (SEND lead)" in shown
    assert "invites you" in text_of(slack.posted_to(SCHOOL_CHANNEL)[-1])

    # "Ask for another time", then the times in the head's own words.
    head.seen.append(invitation)
    await head.press("Ask for another time", messages=[invitation])
    assert "Which times would suit" in head.text
    await head.types("Thursday 10am or Friday 2pm")
    assert "ECC has been sent the times you suggested" in head.text
    await slack.deliver_notices()
    proposal = slack.posted_to(OFFICER_ID)[-1]
    assert "asked for another time" in text_of(proposal) and "Thursday 3 December 2026 at 10:00am" in text_of(proposal)

    # The officer books Thursday with its button; the school's calendar event moves (same UID, next SEQUENCE).
    await officer.press("Book Thu 3 Dec 10:00am", messages=[proposal])
    assert "Rescheduled" in officer.text
    await slack.deliver_notices()
    _, second = calendar_files(slack, f"discussion-{ref}.ics")
    _, moved = vevent(second)
    assert str(moved["UID"]) == str(event["UID"]) and moved["SEQUENCE"] == 1
    assert moved["DTSTART"].dt == datetime(2026, 12, 3, 10, 0, tzinfo=LONDON)
    moved_invitation = slack.posted_to(HEAD_ID)[-1]
    assert f"The discussion of your expression of interest {ref} has moved to" in text_of(moved_invitation)
    await head.press("Accept", messages=[moved_invitation])
    assert "you've accepted" in head.text
    await slack.deliver_notices()
    assert "accepted the" in text_of(slack.posted_to(OFFICER_ID)[-1])

    # After the meeting: the outcome of the funding topic, on its form, becomes the school's follow-up.
    slack.service.clock.set(NOW + timedelta(days=4))
    await officer.slash(f"outcome {ref}")
    assert "7 topics still to record" in officer.text
    await officer.press("Record funding")
    view = (await slack.fake.wait_for("views.open"))[-1]["view"]
    fields = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert fields == ["result", "owner", "due", "note"]

    def chosen(value: str) -> dict:
        return {"value": {"type": "static_select", "selected_option": {"value": value}}}

    refused = await officer.submit_modal(
        {"result": chosen("follow up"), "owner": chosen("school"), "note": {"value": "send the budget"}}, view=view
    )
    assert "by when" in (await refused.json())["errors"]["due"]
    done = await officer.submit_modal(
        {
            "result": chosen("follow up"),
            "owner": chosen("school"),
            "due": {"value": "15 January"},
            "note": {"value": "send the draft SLA budget"},
        },
        view=view,
    )
    assert done.status == 200
    assert "send the draft SLA budget (the school, due 15 January 2027)" in officer.text
    await head.types("status")
    assert "Actions from the discussion" in head.text
    assert "send the draft SLA budget (your school, due 15 January 2027)" in head.text
