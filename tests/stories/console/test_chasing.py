"""Chasing the schools that haven't answered (issue 27, item 3), at the console: an officer lists the in-scope schools
with no EOI and the drafts not submitted, with when each was last told and how it is reached; nudges a school once
(it hears what it has left to do, with a button to carry on; a second nudge the same day is refused with the time
of the first); nudges all (those nudged today are skipped, the one nobody reaches is named); and can't nudge a
school that has submitted, one not in scope, or anyone once the window has closed. The clock is tests/conftest.py's
NOW: Monday 30 November 2026, 10:00, inside the demo window (2627A, closing Friday 18 December 2026 at 5:00pm)."""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.slack_adapter import SlackSender
from dialogs.replies import Reply
from dialogs.schedule import plan_due
from dialogs.turns import Speaker, Turn
from storage.models import EOI, AuditEntry, School
from tests.chat import answer_until, complete_eoi, headteacher, officer
from tests.conftest import LONDON, NOW

MEADOW, HILLCREST, GREENFIELDS = "114000", "114001", "114002"  # Colchester primaries, in scope (ASD)
UNREACHED = "114059"  # Larkrise Academy, Uttlesford: in scope, and no channel, link or email reaches it
OUT_OF_SCOPE = "114005"  # Meadow Primary School, Tendring: no identified need covers it


async def _register_gives_slack_channels(service) -> None:
    """The register names a Slack channel for every school but one, and the service sends to Slack (nothing is
    sent in this story: the console's outbox is where the heads read)."""
    service.senders.append(SlackSender(AsyncWebClient(token="xoxb-test")))
    async with service.db.session() as session:
        for school in await session.scalars(select(School)):
            school.slack_channel_id = "" if school.urn == UNREACHED else f"C{school.urn}"
            school.headteacher_email = "" if school.urn == UNREACHED else school.headteacher_email
        await session.commit()


async def _school_reads(service, urn: str, user: str) -> list[Reply]:
    """What waits for a school's headteacher at the console (its outbox), read now."""
    found = await service.conversations.pending_notices(
        destination=f"console:{user}", audience="school", school_urn=urn, recipient=f"console:{user}"
    )
    return [Reply.from_dict(notice.body) for notice in found]


async def _draft_ref(service, urn: str) -> str:
    async with service.db.session() as session:
        return (await session.scalar(select(EOI).where(EOI.school_urn == urn))).ref


def _line(listing: str, label: str) -> str:
    return next(line.strip() for line in listing.splitlines() if line.strip().startswith(label))


async def test_an_officer_lists_who_has_not_answered_nudges_them_once_a_day_and_all_skips_those_nudged(service, clock):
    await _register_gives_slack_channels(service)
    async with service.db.session() as session:
        await plan_due(session, clock.now())  # the window's announcement to every school in scope
    meadow = await headteacher(service, MEADOW, "head-meadow")
    assert [r.title for r in await _school_reads(service, MEADOW, "head-meadow")] == [
        "Autumn Term 1 2026/27: expressions of interest are open"
    ]
    await answer_until(meadow, "places")  # a draft, four questions in
    await headteacher(service, HILLCREST, "head-hillcrest")
    await _school_reads(service, HILLCREST, "head-hillcrest")  # Hillcrest read the announcement; it hasn't started

    desk = officer(service)
    listed = await desk.say("list not-started")
    assert "== Not started: Autumn Term 1 2026/27 ==" in listed
    assert "31 schools in scope of Autumn Term 1 2026/27 have no EOI in it. Nothing reaches 1 of them." in listed
    assert MEADOW not in listed  # it has a draft
    assert _line(listed, "Hillcrest Primary School, Colchester (114001)").endswith(
        "Colchester, primary · last told Monday 30 November 2026 at 10:00am (the announcement) · "
        "reached by a Slack channel"
    )
    assert "Greenfields Primary School, Colchester (114002): Colchester, primary · not told yet" in listed
    assert _line(listed, "Larkrise Academy, Uttlesford (114059)").endswith("not told yet · nothing reaches it")
    assert "Meadow Primary School, Tendring" not in listed  # not in scope
    assert "Nudge all yet to submit" in listed

    drafts = await desk.say("list drafts")
    ref = await _draft_ref(service, MEADOW)
    assert "== Drafts not submitted: Autumn Term 1 2026/27 ==" in drafts and "1 draft not submitted" in drafts
    assert _line(drafts, ref).startswith(
        f"{ref}: Meadow Primary School, Colchester (114000) · 21 questions left · changed 30 November 2026 · "
        "last told Monday 30 November 2026 at 10:00am (the announcement) · reached by a Slack channel"
    )
    assert "1 EOI · page 1 of 1" in await desk.say("list draft")  # one word, `draft`, is still the status filter

    # One school, with the officer's own words: it hears them, what it has left to do, and a button to carry on.
    said = await desk.say(f"nudge {MEADOW} Please finish by Friday: we'd love an offer from you")
    assert said == (
        f"Nudged Meadow Primary School, Colchester (114000) about Autumn Term 1 2026/27 now: draft {ref}, 21 "
        "questions left."
    )
    heard = await _school_reads(service, MEADOW, "head-meadow")
    assert [r.title for r in heard] == ["Autumn Term 1 2026/27: a reminder from ECC"]
    assert heard[0].text.plain == (
        "A message from ECC: Please finish by Friday: we'd love an offer from you\n"
        f"Your draft {ref} (Resourced Provision) has 21 questions still to answer, and it isn't submitted yet.\n"
        "Nothing reaches ECC until you submit it. The window closes Friday 18 December 2026 at 5:00pm. Press "
        "Continue (or type start) to carry on where you left off."
    )
    meadow.replies = heard
    assert "Question 5 of" in await meadow.press("Continue my EOI")  # where the school left off

    # A second nudge the same day is refused, naming the time of the first; nothing more reaches the school.
    clock.set(NOW + timedelta(hours=1))
    again = await desk.say("nudge Meadow Primary School, Colchester")
    assert again == (
        "Meadow Primary School, Colchester (114000) was nudged today already, at 10:00am: one nudge a school a day. "
        "You can nudge it again tomorrow."
    )
    assert desk.last.kind == "error" and await _school_reads(service, MEADOW, "head-meadow") == []

    # Everyone yet to submit: Meadow is skipped (nudged today), the school nobody reaches is named.
    everyone = await desk.say("nudge all")
    assert "Nudged 30 schools yet to submit Autumn Term 1 2026/27 now: 30 not started, 0 with a draft." in everyone
    assert (
        "Already nudged today, so not again (one a school a day): Meadow Primary School, Colchester (114000) at "
        "10:00am." in everyone
    )
    assert (
        "Nothing reaches 1 school, so it won't hear (the nudge is recorded, so not again today): Larkrise Academy, "
        "Uttlesford (114059)."
    ) in everyone
    hillcrest = await _school_reads(service, HILLCREST, "head-hillcrest")
    assert hillcrest[0].text.plain.startswith(
        "We haven't had an expression of interest from Hillcrest Primary School, Colchester for Autumn Term 1 "
        "2026/27 yet. The window closes Friday 18 December 2026 at 5:00pm."
    )
    assert [c.label for c in hillcrest[0].choices] == ["Start an EOI"]
    assert "Nobody was nudged." in await desk.say("nudge all")  # all of them were, today
    assert "Already nudged today" in desk.text

    listed = await desk.say("list not-started")
    assert _line(listed, "Hillcrest Primary School, Colchester (114001)").endswith(
        "last told Monday 30 November 2026 at 11:00am (a nudge) · reached by a Slack channel"
    )
    assert _line(listed, "Greenfields Primary School, Colchester (114002)").endswith(
        "not told yet; nudged today at 11:00am, not delivered yet · reached by a Slack channel"
    )

    async with service.db.session() as session:
        nudges = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "nudge")))
    assert len(nudges) == 32 and {n.actor for n in nudges} == {"console:officer-1"}
    assert nudges[0].note == (
        f"114000 Meadow Primary School, Colchester: draft {ref}, 21 questions left; message: Please finish by "
        "Friday: we'd love an offer from you"
    )

    # The next day Meadow may be nudged again; not once it has submitted.
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=LONDON))
    assert "Nudged Meadow Primary School, Colchester (114000)" in await desk.say(f"nudge {ref}")
    await complete_eoi(meadow)
    refused = await desk.say(f"nudge {MEADOW}")
    assert refused == (
        f"Meadow Primary School, Colchester (114000) has submitted in Autumn Term 1 2026/27: {ref} (submitted). "
        "There is nothing to remind it of."
    )


async def test_a_nudge_names_its_school_as_show_does_and_is_refused_out_of_scope_and_after_the_close(service, clock):
    desk = officer(service)
    asked = await desk.say("nudge Meadow please reply")
    assert "3 schools match “Meadow”: which one?" in asked
    assert desk.find("Nudge 114000").action.text == "nudge 114000 please reply"

    refused = await desk.say(f"nudge {OUT_OF_SCOPE}")
    assert refused == (
        "Meadow Primary School, Tendring (114005) isn't in scope of Autumn Term 1 2026/27: its identified need "
        "doesn't cover Tendring, primary. It wasn't invited, so I won't remind it; `need 2627A` shows the need."
    )
    assert "Who should I remind?" in await desk.say("nudge")
    assert "No school's URN or name matches “Nowhere Academy”" in await desk.say("nudge Nowhere Academy")

    # A school whose name begins "All" is named, not every school.
    async with service.db.session() as session:
        (await session.get(School, GREENFIELDS)).name = "All Saints Primary School, Colchester"
        await session.commit()
    saints = await desk.say("nudge all saints Please reply")
    assert "Already nudged" not in saints and "All Saints Primary School, Colchester (114002)" in saints
    async with service.db.session() as session:
        nudged = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "nudge"))).all()
    assert [n.note for n in nudged] == [
        "114002 All Saints Primary School, Colchester: not started; message: Please reply"
    ]

    # At the console nothing but the console is enabled: the officer is told nobody will hear, and who.
    said = await desk.say(f"nudge {HILLCREST}")
    assert (
        "Nothing reaches 1 school, so it won't hear (the nudge is recorded, so not again today): Hillcrest Primary "
        "School, Colchester (114001)."
    ) in said

    clock.set(datetime(2026, 12, 18, 17, 1, tzinfo=LONDON))
    closed = await desk.say(f"nudge {GREENFIELDS}")
    assert closed == (
        "No window is open now: Autumn Term 1 2026/27 closed Friday 18 December 2026 at 5:00pm. There is nothing to "
        "remind schools of until one opens."
    )
    listed = await desk.say("list not-started 2627A")
    assert "It isn't open now, so nobody can be nudged about it." in listed and "Nudge all" not in listed
    assert "Name a window to list it, e.g. `list not-started 2627A`." in await desk.say("list drafts")


async def test_a_school_nudged_from_the_listing_form_hears_the_officers_words(service):
    """The list's button opens a form (a Slack modal, a Teams card, typed at the console) for the message."""
    desk = officer(service)
    await desk.say("list not-started")
    choice = desk.find("Nudge all yet to submit")
    assert choice.form is not None and [f.name for f in choice.form.fields] == ["message"]
    submitted = choice.form.submitted({"message": "The panel meets in January"})
    desk.replies = await service.conversations.handle(Turn(Speaker("console", "officer-1"), action=submitted))
    assert "Nudged" not in desk.text and "Nothing reaches 32 schools" in desk.text
    heard = await _school_reads(service, HILLCREST, "head-hillcrest")
    assert heard[0].text.plain.startswith("A message from ECC: The panel meets in January\n")
