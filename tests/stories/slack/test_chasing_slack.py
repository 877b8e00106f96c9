"""Chasing in Slack (issue 27, item 3): an officer lists the schools in scope that haven't started, nudges one, and
once the dispatcher has run the school's channel and its headteacher's DM hold the reminder through the Web API,
with a button that starts its EOI; a second nudge the same day is refused with the time of the first, the drafts
list says when the school was last told, and the list's button opens a modal for the officer's words to the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.clock import Clock
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import HEAD_ID, OFFICER_ID, SCHOOL_CHANNEL, SCHOOL_URN, Workspace, slack_workspace, text_of


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


async def test_an_officer_nudges_a_school_that_has_not_started_and_its_channel_hears_it(slack: Workspace) -> None:
    head, officer = slack.person(HEAD_ID), slack.person(OFFICER_ID)
    await head.types("status")  # Pat Head is known on Slack: linked to Meadow Primary School by the register's email

    await officer.slash("list not-started")
    listed = officer.heard
    assert "Not started: Autumn Term 1 2026/27" in listed
    assert (
        f"Meadow Primary School, Colchester ({SCHOOL_URN})*: Colchester, primary · not told yet · reached by a Slack "
        "channel, Pat Head (Slack)" in listed
    )
    assert "Nothing reaches 31 of them." in listed  # only Meadow has a channel or a linked head here

    await officer.slash(f"nudge {SCHOOL_URN} The panel meets in January: we'd welcome your offer")
    assert officer.heard == (
        f"Nudged Meadow Primary School, Colchester ({SCHOOL_URN}) about Autumn Term 1 2026/27 now: not started."
    )
    assert slack.posted_to(SCHOOL_CHANNEL) == []  # sent by the dispatcher, never inside the officer's turn

    await slack.deliver_notices()
    reminder = slack.posted_to(SCHOOL_CHANNEL)[-1]
    assert text_of(reminder) == text_of(slack.posted_to(HEAD_ID)[-1])
    said = text_of(reminder)
    assert "Autumn Term 1 2026/27: a reminder from ECC" in said
    assert "*A message from ECC:* The panel meets in January: we'd welcome your offer" in said
    assert "We haven't had an expression of interest from Meadow Primary School, Colchester" in said
    head.seen.append(slack.posted_to(HEAD_ID)[-1])
    await head.press("Start an EOI")
    assert "Question 1 of" in head.heard

    await officer.slash(f"nudge {SCHOOL_URN}")
    assert "was nudged today already, at 10:00am: one nudge a school a day" in officer.heard
    await slack.deliver_notices()
    assert len([m for m in slack.posted_to(SCHOOL_CHANNEL) if "reminder from ECC" in text_of(m)]) == 1

    await officer.slash("list drafts")
    assert "last told Monday 30 November 2026 at 10:00am (a nudge)" in officer.heard

    # The rest, with the officer's words in the list's modal: Meadow is skipped, nobody else can be reached here.
    await officer.press("Nudge all yet to submit")
    view = (await slack.fake.wait_for("views.open"))[-1]["view"]
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["message"]
    await officer.submit_modal({"message": {"value": "Information session on Tuesday"}}, view=view)
    everyone = text_of(slack.posted_to(OFFICER_ID)[-1])
    assert "Already nudged today, so not again (one a school a day): Meadow Primary School, Colchester" in everyone
    assert (
        "Nothing reaches 31 schools, so they won't hear (the nudge is recorded" in everyone
        and "and 11 more" in everyone
    )
