"""A discussion in Microsoft Teams (issue 13): the invitation card with its agenda reaches the head's personal
chat with the calendar invitation, the head types `another time` with the times that suit, the officer books one
with the card's button, and the head accepts by typing. Activities go to /api/messages; the fake Bot Connector
records what the bot says."""

from __future__ import annotations

import re

from tests import chat
from tests.stories.teams.test_teams_e2e import (  # noqa: F401
    HEAD_ID,
    OFFICER_ID,
    Teams,
    _walk,
    card_of,
    connector,
    shown_text,
    svc,
    teams,
)

# connector, svc and teams are the Teams harness's fixtures: pytest finds them here by those names.


async def delivered(harness: Teams) -> list[str]:
    """What the delivery loop sends now, as people read it."""
    mark = len(harness.connector.activities)
    await harness.service.dispatcher.plan_notices()
    await harness.service.dispatcher.run_due()
    return [read(a) for a in harness.connector.activities[mark:]]


def read(activity: dict) -> str:
    """What a person reads, and every button's title, wherever the card puts it."""
    buttons = [
        f"[{n['title']}]" for n in _walk(card_of(activity) or {}) if str(n.get("type", "")).startswith("Action.")
    ]
    return "\n".join([shown_text(activity), *buttons])


async def test_a_head_moves_and_accepts_a_discussion_in_teams(teams: Teams) -> None:  # noqa: F811
    submitted = await chat.complete_eoi(await chat.headteacher(teams.service, urn="114000", user="typist"))
    ref = re.search(r"EOI-2627A-\d{3}", submitted).group(0)
    head, officer = teams.user(HEAD_ID, "Pat Head"), teams.user(OFFICER_ID, "Olu Officer")
    await head.say("status")  # matched by email, and reachable in this chat from now on
    await officer.say(f"shortlist {ref}")
    said = await officer.say(f"schedule {ref} Tuesday at 2pm at County Hall")
    assert "Scheduled" in said and "calendar invitation" in said

    sent = await delivered(teams)
    calendar = next(t for t in sent if "Calendar invitation" in t)
    assert "BEGIN:VCALENDAR" in calendar and "METHOD:REQUEST" in calendar and "TZID=Europe/London" in calendar
    invitation = next(t for t in sent if "invites you" in t)
    assert "Admissions and placement" in invitation and "[Accept]" in invitation
    assert "[Ask for another time]" in invitation

    answered = await head.say(f"another time {ref} Thursday 10am or Friday 2pm")
    assert "ECC has been sent the times you suggested" in answered
    proposal = next(t for t in await delivered(teams) if "asked for another time" in t)
    assert "[Book Thu 3 Dec 10:00am]" in proposal
    officer.seen = teams.connector.activities[-1:]  # the proposal card, in the officer's chat
    assert "Rescheduled" in await officer.press("Book Thu 3 Dec 10:00am")
    moved = await delivered(teams)
    assert any("The discussion of your expression of interest EOI-" in t and "has moved to" in t for t in moved)
    assert any("SEQUENCE:1" in t for t in moved)

    assert "you've accepted" in await head.say("accept")
    assert any("accepted the" in t for t in await delivered(teams))
