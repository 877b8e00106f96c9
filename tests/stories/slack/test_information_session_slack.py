"""A window's information session in Slack (issue 27, item 4): an officer sets it with the slash command, and when the
window opens the school's channel gets the announcement naming it, with its link to press, and the session's
calendar invitation shared as an .ics file. The clock is tests/conftest.py's NOW: Monday 30 November 2026, 10:00,
inside the demo window, not yet announced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from dialogs.schedule import plan_due
from storage.clock import Clock
from tests.conftest import LONDON
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import OFFICER_ID, SCHOOL_CHANNEL, Workspace, slack_workspace, text_of
from tests.stories.slack.test_discussion_slack import calendar_files, vevent

LINK = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_info%40thread.v2/0"


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


async def test_the_announcement_names_the_information_session_and_shares_its_calendar_file(slack: Workspace) -> None:
    officer = slack.person(OFFICER_ID)
    await officer.slash(f"window session 2627A Tuesday 8 December 4pm at {LINK}")
    assert "Set: the information session for Autumn Term 1 2026/27 is *Tuesday 8 December 2026 at 4:00pm*" in (
        officer.text
    )
    assert "The announcement to the 32 schools in scope names it" in officer.text

    async with slack.service.db.session() as session:
        await plan_due(session, slack.service.clock.now())
    await slack.deliver_notices()

    # The calendar file first, then the announcement with its button: the last thing the school sees.
    (shared,) = calendar_files(slack, "information-session-2627A.ics")
    assert "Calendar invitation for the information session about Autumn Term 1 2026/27" in shared["initial_comment"]
    calendar, event = vevent(shared)
    assert calendar["METHOD"] == "REQUEST" and event["SEQUENCE"] == 0
    assert event["DTSTART"].dt == datetime(2026, 12, 8, 16, 0, tzinfo=LONDON)
    assert str(event["URL"]) == LINK and str(event["LOCATION"]) == "Online meeting"
    announced = slack.posted_to(SCHOOL_CHANNEL)[-1]
    shown = text_of(announced)
    assert "expressions of interest are open" in shown
    assert "ECC is holding an information session about this on *Tuesday 8 December 2026 at 4:00pm* (UK time)" in shown
    assert f"online: <{LINK}|join online>" in shown  # a link to press
