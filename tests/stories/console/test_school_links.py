"""Who acts for a school follows the register: a head whose email the register no longer names loses the school
(audited, and told how to get re-linked), the new head is linked on first contact, an executive head chooses
which of their schools a turn is about, and links an officer made stay."""

from __future__ import annotations

import csv
import io
import re

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.app import recheck_school_links
from bot.slack_adapter import SlackSender
from dialogs.replies import Reply
from dialogs.turns import Speaker
from storage import people
from storage.models import EOI, AuditEntry, Notice, School
from storage.register import import_schools
from storage.seed import demo_schools_csv
from tests.chat import Chat, complete_eoi, officer

OLD_EMAIL = "head114000@demo-school.example"


async def reimport(service, emails: dict[str, str]) -> list[str]:
    """What `eoi-bot import schools FILE.csv` does, with the demo register and some headteacher emails changed."""
    rows = list(csv.DictReader(io.StringIO(demo_schools_csv())))
    for row in rows:
        row["headteacher_email"] = emails.get(row["urn"], row["headteacher_email"])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    async with service.db.session() as session:
        result = await import_schools(session, out.getvalue(), actor="cli", now=service.clock.now())
    assert result.ok, result.problems
    return result.links


async def _name(service, urn: str) -> str:
    async with service.db.session() as session:
        school = await session.get(School, urn)
        return school.name


async def _hears_for(service, urn: str) -> list[str]:
    """Where the school's notices go on Slack (its staff's DMs), as the service plans them."""
    async with service.db.session() as session:
        school = await session.get(School, urn)
        if not any(s.platform == "slack" for s in service.senders):
            service.senders.append(SlackSender(AsyncWebClient(token="xoxb-test")))
        return await service.dispatcher.school_destinations(session, school)


async def test_a_head_whose_email_left_the_register_loses_the_school_and_is_told_how_to_get_relinked(
    service,
):
    name = await _name(service, "114000")
    old = Chat(service, Speaker("slack", "UOLD", email=OLD_EMAIL))
    assert f"{name} has no EOI yet" in await old.say("status")
    await old.say("start")
    await old.say("Resourced Provision")  # a draft under way
    assert await _hears_for(service, "114000") == ["slack:UOLD"]

    changed = await reimport(service, {"114000": "new.head@demo-school.example"})
    assert changed == [
        f"Unlinked slack:UOLD from 114000 {name}: the register's headteacher email for the school is no longer theirs."
    ]
    async with service.db.session() as session:
        removed = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "school link removed"))).all()
    assert [(r.actor, r.from_status) for r in removed] == [("cli", "register")]
    assert removed[0].note.startswith("slack:UOLD from 114000")
    assert await _hears_for(service, "114000") == []

    text = await old.say("ASD")  # their next turn, mid-dialog as they left it
    assert f"You're no longer linked to {name}: the school register now names a different headteacher email" in text
    assert "Ask an ECC officer to link you (`link slack:UOLD 114000`)" in text
    assert "couldn't match you to a school" in text and "Question" not in text
    assert "no longer linked" not in await old.say("status")  # said once
    assert "couldn't match you to a school" in old.text

    new = Chat(service, Speaker("slack", "UNEW", email="New.Head@demo-school.example"))
    text = await new.say("start")
    assert "Welcome back" in text and name in text  # the school's draft, carried on by its new head
    assert await _hears_for(service, "114000") == ["slack:UNEW"]
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == "114000"))
    assert eoi.answers["provision_type"] == "resourced"


async def test_an_executive_head_picks_a_school_fills_an_eoi_for_it_then_switches(service):
    await reimport(service, {"114001": OLD_EMAIL})  # one head for 114000 and 114001
    first, second = await _name(service, "114000"), await _name(service, "114001")
    head = Chat(service, Speaker("slack", "UEXEC", email=OLD_EMAIL))
    text = await head.say("status")
    assert "Which school is this about?" in text
    assert sorted(c.label for c in head.last.choices) == sorted([first, second])
    assert f"1) {min(first, second)}" in text  # numbered in the console, buttons in Slack and Teams
    assert "now acting for" in await head.press(first) and f"{first} has no EOI yet" in head.text
    text = await complete_eoi(head)
    ref = re.search(r"EOI-2627A-\d{3}", text).group(0)
    assert ref in await head.say("status") and first in head.text

    text = await head.say("school")
    assert f"You're acting for *{first}*" in head.last.text.markup and second in text
    await head.press(second)
    assert f"now acting for *{second}*" in head.replies[0].text.markup
    again = Chat(service, Speaker("slack", "UEXEC", email=OLD_EMAIL))  # the choice lasts across turns
    assert f"{second} has no EOI yet" in await again.say("status") and ref not in again.text
    assert f"{second} has no EOI {ref}" in await again.say(f"withdraw {ref}")  # the turn is about the chosen school
    await again.say("start")
    assert "Question 1 of" in again.text
    assert "now acting for" in await again.say("school 114000")  # typed mid-dialog, not taken as an answer
    assert ref in await again.say("status")
    assert "not linked to a school with URN 114002" in await again.say("school 114002")
    assert await _hears_for(service, "114000") == ["slack:UEXEC"] == await _hears_for(service, "114001")


async def test_the_daily_recheck_removes_a_stale_link_but_not_one_an_officer_made(service):
    stale = Chat(service, Speaker("msteams", "29:stale", email="head114002@demo-school.example"))
    assert "has no EOI yet" in await stale.say("status")
    assert "linked to" in await officer(service).say("link msteams:29:deputy 114002")
    async with service.db.session() as session:
        # The register changed without an import (edited in the database): only the daily check can notice.
        school = await session.get(School, "114002")
        school.headteacher_email = "someone.else@demo-school.example"
        await session.commit()
    assert await recheck_school_links(service) == [
        f"Unlinked msteams:29:stale from 114002 {school.name}: the register's headteacher email for the school "
        "is no longer theirs."
    ]
    async with service.db.session() as session:
        assert [p.user_id for p in await people.staff_of(session, "114002")] == ["29:deputy"]
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "school link removed"))
    assert entry.actor == "daily register check"
    assert "no longer linked to" in await stale.say("status")
    assert await recheck_school_links(service) == []  # nothing more to do


async def test_an_executive_head_answers_an_invitation_for_either_school_without_switching(service):
    await reimport(service, {"114001": OLD_EMAIL})
    head = Chat(service, Speaker("slack", "UEXEC", email=OLD_EMAIL))
    await head.say("school 114000")
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")
    await head.say("school 114001")
    async with service.db.session() as session:
        invitation = await session.scalar(select(Notice).where(Notice.kind == "discussion"))
    head.replies = [Reply.from_dict(invitation.body)]
    assert "you've accepted" in await head.press("Accept")
    stranger = Chat(service, Speaker("slack", "UOTHER", email="head114002@demo-school.example"))
    stranger.replies = [Reply.from_dict(invitation.body)]
    assert "isn't for your school" in await stranger.press("Accept")
