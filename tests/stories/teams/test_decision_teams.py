"""A decision with stakeholders in Microsoft Teams: the officer asks a panel, a stakeholder recommends with the
card's buttons and a reason in the card's form, the officer decides, and the school's headteacher hears each step
in their personal chat. Activities go to /api/messages; the fake Bot Connector records what the bot says."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import EOI
from tests import chat
from tests.stories.teams.test_discussion_teams import delivered
from tests.stories.teams.test_teams_e2e import (  # noqa: F401
    HEAD_ID,
    OFFICER_ID,
    STRANGER_ID,
    Teams,
    connector,
    svc,
    teams,
)

# connector, svc and teams are the Teams harness's fixtures: pytest finds them here by those names.


async def status_of(teams: Teams, ref: str) -> str:  # noqa: F811
    async with teams.service.db.session() as session:
        return (await session.scalar(select(EOI).where(EOI.ref == ref))).status


async def test_a_stakeholder_declines_in_teams_and_the_officer_decides_with_the_panels_view(
    teams: Teams,  # noqa: F811
) -> None:
    submitted = await chat.complete_eoi(await chat.headteacher(teams.service, urn="114000", user="typist"))
    ref = re.search(r"EOI-2627A-\d{3}", submitted).group(0)
    head, officer = teams.user(HEAD_ID, "Pat Head"), teams.user(OFFICER_ID, "Olu Officer")
    finance = teams.user(STRANGER_ID, "Sam Stranger")
    await head.say("status")  # matched by email, and reachable in this chat from now on
    assert "recommend" in await finance.say("hi")  # no school, no role: help says how to answer a request

    await officer.say(f"shortlist {ref}")
    said = await officer.say(f"schedule {ref} Tuesday at 2pm at County Hall")
    assert "Scheduled" in said
    await delivered(teams)
    said = await officer.say(f"panel {ref} msteams:{STRANGER_ID} as finance, me as SEND quadrant lead")
    assert f"{ref} is under consideration" in said and "Sam Stranger (Teams) (finance)" in said
    sent = await delivered(teams)
    assert any("under consideration" in t for t in sent)  # the school hears
    request = next(t for t in sent if "your recommendation" in t)
    assert ref in request and "[Approve]" in request and "[Decline]" in request and "[Abstain]" in request

    # The stakeholder's own chat: Decline opens a form for the reason; an empty one is asked again.
    finance.seen = [a for a in teams.connector.activities if "your recommendation" in str(a["body"])][-1:]
    empty = await finance.fill("Decline", reason="")
    assert "Your reason is needed" in empty and "[Recommend decline]" in empty
    said = await finance.fill("Decline", reason="The budget for Mid is committed this year")
    assert "your recommendation (decline)" in said
    to_officer = "\n".join(await delivered(teams))
    assert "Sam Stranger recommends" in to_officer and "The budget for Mid is committed this year" in to_officer

    said = await officer.say(f"show {ref}")
    assert "Sam Stranger" in said and "decline" in said
    assert "A decline needs a reason" in await officer.say(f"decide {ref} decline")
    assert await status_of(teams, ref) == "under consideration"
    said = await officer.say(f"decide {ref} decline The panel's view: the budget is committed")
    assert f"Recorded: {ref} declined" in said
    told = "\n".join(await delivered(teams))
    assert "declined" in told and "the budget is committed" in told
    assert "METHOD:CANCEL" in told  # the declined EOI's discussion is called off in the school's calendar
    assert await status_of(teams, ref) == "declined"
