"""A school's EOI over its whole life, told as the school and the officers live it: a finished EOI never
strands the school, a withdrawal can be taken back, a submitted EOI can be seen and changed, a draft carried to
the next window keeps the school informed, and a decision can be reopened (storage/lifecycle.py LIFE)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from dialogs.lifecycle_words import SHORTLISTING_RULE
from dialogs.replies import Reply
from dialogs.schedule import plan_due
from storage import eois
from storage.models import EOI, AuditEntry, Notice, School
from storage.windows import LONDON, find_window
from tests.chat import RESOURCED_ANSWERS, add_spring_window, complete_eoi, headteacher, officer

SPRING = datetime(2027, 3, 1, 10, 0, tzinfo=LONDON)  # inside the spring window the officer adds below


def _ref(text: str) -> str:
    return re.search(r"EOI-\d{4}[AS]-\d{3}", text).group(0)


async def _spring_window_opens(service, clock) -> None:
    """An officer adds Spring Term 2 2026/27 (2627S) with the same identified need; time moves into it."""
    await add_spring_window(service)
    clock.set(SPRING)


async def _notices(service, audience: str, urn: str = "114000") -> list[Notice]:
    async with service.db.session() as session:
        return list(
            await session.scalars(
                select(Notice).where(Notice.audience == audience, Notice.school_urn == urn).order_by(Notice.id)
            )
        )


async def _eoi(service, ref: str) -> EOI:
    async with service.db.session() as session:
        found = await eois.by_ref(session, ref)
        assert found is not None, ref
        return found


# ------------------------------------------------------------------ a finished EOI never strands a school


async def test_a_school_not_shortlisted_last_window_starts_a_new_eoi_from_the_next_announcement(service, clock):
    head = await headteacher(service)
    autumn = _ref(await complete_eoi(head))
    await officer(service).say(f"not-shortlisted {autumn} The need in your area is met this year.")
    await _spring_window_opens(service, clock)

    # Status says how the last EOI ended and offers a new one.
    status = await head.say("status")
    assert f"{autumn} is not shortlisted" in status
    assert "no EOI in Spring Term 2 2026/27 yet" in status
    head.find("Start a new EOI")

    # The spring announcement's button begins a new EOI with a new reference, not the old one.
    async with service.db.session() as session:
        await plan_due(session, service.clock.now())
    found = await service.conversations.pending_notices(destination="console:h", audience="school", school_urn="114000")
    head.replies = [Reply.from_dict(next(n for n in found if n.kind == "announcement").body)]
    started = await head.press("Start an EOI")
    assert "Your reference is EOI-2627S-001" in started and "Question 1 of" in started
    assert f"your earlier one, {autumn}, is not shortlisted" in started
    spring = _ref(await complete_eoi(head))
    assert spring == "EOI-2627S-001"
    assert (await _eoi(service, autumn)).status == eois.NOT_SHORTLISTED  # the old EOI stays as it ended


async def test_an_approved_or_withdrawn_eoi_from_an_earlier_window_leaves_start_free(service, clock):
    approved_head = await headteacher(service, urn="114000", user="a")
    approved = _ref(await complete_eoi(approved_head))
    desk = officer(service)
    await desk.say(f"shortlist {approved}")
    await desk.say(f"schedule {approved} 3/12 10:30")
    await desk.say(f"decide {approved} approve Opening September 2027")
    withdrawn_head = await headteacher(service, urn="114001", user="b")
    withdrawn = _ref(await complete_eoi(withdrawn_head))
    await withdrawn_head.say("withdraw")
    await withdrawn_head.press("Yes, withdraw")
    await _spring_window_opens(service, clock)

    assert "Question 1 of" in await approved_head.say("start")
    assert "EOI-2627S-001" in approved_head.text
    text = await withdrawn_head.say("start")  # its window closed: a new EOI, not a restart of the old one
    assert "EOI-2627S-002" in text and "Question 1 of" in text
    assert (await _eoi(service, approved)).status == eois.APPROVED
    assert (await _eoi(service, withdrawn)).status == eois.WITHDRAWN


async def test_an_eoi_still_being_considered_stays_in_view_when_the_school_starts_in_the_next_window(service, clock):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS:
        await head.say(answer)
    old_review = head.replies
    await head.press("Submit")
    autumn = _ref(await head.press("I confirm"))
    await officer(service).say(f"shortlist {autumn}")
    await _spring_window_opens(service, clock)

    head.replies = old_review  # a button on last window's review starts nothing: it says where things stand
    assert "earlier message" in await head.press("Change Places")
    assert f"{autumn} is shortlisted" in head.text
    async with service.db.session() as session:
        assert (await session.scalar(select(EOI).where(EOI.ref == "EOI-2627S-001"))) is None

    assert f"{autumn} is shortlisted" in await head.say("status")
    assert "EOI-2627S-001" in await head.say("start")
    await head.say("save")
    status = await head.say("status")
    assert "EOI-2627S-001 is draft" in status
    assert f"{autumn} is shortlisted" in status and status.index(autumn) < status.index("EOI-2627S-001")


# ------------------------------------------------------------------ withdraw, then change your mind


async def test_a_school_that_withdrew_restarts_while_the_window_is_open_and_resubmits_the_same_reference(service):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    assert "start it again with your answers (type start) until" in await head.say("withdraw")
    await head.press("Yes, withdraw")
    assert "You can start it again with your answers (type start) until Friday 18 December" in head.text

    text = await head.say("start")
    assert f"{ref} is a draft again, with your answers" in text
    assert head.last.kind == "review"
    assert {f.label: f.value for f in head.last.facts}["Places"] == "12"
    await head.press("Submit")
    text = await head.press("I confirm")
    assert f"resubmitted. Your reference is {ref}" in text
    assert (await _eoi(service, ref)).status == eois.SUBMITTED
    told = [(n.kind, Reply.from_dict(n.body).text.plain) for n in await _notices(service, "officers")]
    assert [kind for kind, _ in told] == ["submitted", "withdrawn", "restarted", "resubmitted"]
    assert f"restarted {ref}" in told[2][1] and f"resubmitted {ref}" in told[3][1]
    async with service.db.session() as session:
        actions = [a.action for a in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-3:] == ["withdraw", "restart", "submit"]


async def test_a_draft_withdrawn_in_a_window_that_closed_does_not_block_the_next_window(service, clock):
    head = await headteacher(service)
    await head.say("start")
    await head.say("save")
    await head.say("withdraw")
    await head.press("Yes, withdraw")
    desk = officer(service)
    await desk.say('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 25 Mar 2027')
    clock.set(datetime(2027, 1, 10, 10, 0, tzinfo=LONDON))  # autumn has closed; spring is planned
    # The withdrawn autumn EOI is finished; a new draft is begun for spring.
    assert "EOI-2627S-001" in await head.say("start")


# ------------------------------------------------------------------ a submitted EOI can be seen and amended


async def test_a_school_sees_its_submitted_answers_and_amends_them_under_the_same_reference(service):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    text = await head.say("review")
    assert "I don't know" not in text and f"{ref} as you submitted it" in text
    assert {f.label: f.value for f in head.last.facts}["Places"] == "12"
    assert not any(f.change for f in head.last.facts)  # read-only until they ask to change it

    text = await head.press("Change my answers")
    assert f"{ref} is open for changes" in text and head.last.kind == "review"
    await head.press("Change Places")
    await head.say("10")
    assert head.last.kind == "review" and {f.label: f.value for f in head.last.facts}["Places"] == "10"
    await head.press("Submit")
    text = await head.press("I confirm")
    assert f"resubmitted. Your reference is {ref}" in text
    eoi = await _eoi(service, ref)
    assert eoi.status == eois.SUBMITTED and eoi.answers["places"] == 10
    async with service.db.session() as session:
        school = (await session.get(School, "114000")).name
    told = [(n.kind, Reply.from_dict(n.body).text.plain) for n in await _notices(service, "officers")]
    assert told[1:] == [
        ("changing", f"{school} is changing {ref}: it is a draft until they submit it again."),
        ("resubmitted", f"{school} resubmitted {ref} (the same reference)."),
    ]


async def test_once_shortlisted_or_after_the_window_the_answers_are_read_only(service, clock):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    await officer(service).say(f"shortlist {ref}")
    text = await head.say("review")
    assert "It is shortlisted, so its answers can't be changed now" in text
    assert not any(c.label.startswith("Change") for c in head.last.choices)
    assert "is shortlisted, so it can't be reopened for changes" in await head.say("amend")
    assert (await _eoi(service, ref)).status == eois.SHORTLISTED

    other = await headteacher(service, urn="114001", user="other")
    other_ref = _ref(await complete_eoi(other))
    async with service.db.session() as session:
        closes = (await find_window(session, "2627A")).closes_at
    clock.set(closes + timedelta(days=1))
    assert f"{other_ref} as you submitted it" in await other.say("review")
    assert "can't be reopened for changes now: its window has closed" in await other.say("amend")
    assert (await _eoi(service, other_ref)).status == eois.SUBMITTED


# ------------------------------------------------------------------ one shortlisting rule, said to both


async def test_schools_and_officers_are_told_the_same_shortlisting_rule(service):
    head = await headteacher(service)
    submitted = await complete_eoi(head)
    desk = officer(service)
    for text in (submitted, await head.say("help"), await desk.say("help")):
        assert SHORTLISTING_RULE in text
        assert "after the window closes" not in text
    # Status says the same as what is true for this EOI now: the change and the shortlisting that ends it.
    text = await head.say("status")
    assert "change its answers (type review) until" in text and "ECC may shortlist it at any time" in text


# ------------------------------------------------------------------ a draft carried to the next window


async def test_a_draft_carried_to_the_next_window_tells_the_school_its_new_reference(service, clock):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS[:6]:
        await head.say(answer)
    await head.say("save")
    assert "EOI-2627A-001" in await head.say("status")
    await _spring_window_opens(service, clock)

    senco = await headteacher(service, user="senco")
    text = await senco.say("start")
    assert "draft EOI-2627A-001 wasn't submitted before its window closed" in text
    assert "new reference, EOI-2627S-001. Your answers are kept." in text
    assert "Welcome back" in text and "Question 7 of" in text
    school_told = [n for n in await _notices(service, "school") if n.kind == "carried forward"]
    assert len(school_told) == 1 and "EOI-2627S-001" in Reply.from_dict(school_told[0].body).text
    async with service.db.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "carry forward"))
    assert entry.note == "EOI-2627A-001 -> EOI-2627S-001"
    # Said once: the next turn is just the dialog.
    assert "new reference" not in await head.say("status")
    assert "EOI-2627S-001" in head.text


# ------------------------------------------------------------------ a decision can be reopened


async def test_an_officer_reopens_a_decline_with_a_reason_and_the_school_is_told(service, clock):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")
    await desk.say(f"decide {ref} decline The accommodation would not be ready in time")
    assert "Please say why" in await desk.say(f"reopen {ref}")
    assert (await _eoi(service, ref)).status == eois.DECLINED

    clock.advance(timedelta(days=3))
    text = await desk.say(f"reopen {ref} The panel used last year's places figure.")
    assert f"Reopened: {ref} is discussion scheduled again (it was declined)" in text
    assert (await _eoi(service, ref)).status == eois.SCHEDULED
    # The decline called off the discussion still to come: the officer is told to book another, and isn't
    # offered to cancel one that no longer stands.
    assert f"Its discussion was called off with the decision: book a new one with `schedule {ref} WHEN`" in text
    assert "Schedule discussion" in text and "Cancel discussion" not in text
    told = (await _notices(service, "school"))[-1]
    assert told.kind == "reopened" and "reopened the decision on" in Reply.from_dict(told.body).text
    assert "ECC will invite you to a new discussion here" in Reply.from_dict(told.body).text
    assert "Why: The panel used last year's places figure." in Reply.from_dict(told.body).text
    async with service.db.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "reopen"))
    assert (entry.from_status, entry.to_status) == ("declined", "discussion scheduled")
    assert entry.note == "The panel used last year's places figure."
    assert "Scheduled: " in await desk.say(f"schedule {ref} 10/12 10:30")  # a new discussion, not a move
    invited = Reply.from_dict((await _notices(service, "school"))[-1].body)
    assert "ECC invites you to discuss" in invited.text and "has moved" not in invited.text
    assert "Recorded" in await desk.say(f"decide {ref} approve")


async def test_a_decision_older_than_fourteen_days_stands(service, clock):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    desk = officer(service)
    await desk.say(f"not-shortlisted {ref} The need in your area is met this year.")
    clock.advance(timedelta(days=15))
    assert f"{ref} can be reopened only within 14 days of the decision, and that" in await desk.say(
        f"reopen {ref} New data"
    )
    assert (await _eoi(service, ref)).status == eois.NOT_SHORTLISTED


async def test_not_shortlisted_reopened_is_submitted_again_and_reopen_is_in_the_officer_help(service):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    desk = officer(service)
    assert "reopen REF REASON" in await desk.say("help")
    await desk.say(f"not-shortlisted {ref} The need in your area is met this year.")
    await desk.say(f"show {ref}")
    desk.find("Reopen")
    assert "is submitted again" in await desk.say(f"reopen {ref} Another school withdrew.")
    assert "is submitted, so it can't be reopened" in await desk.say(f"reopen {ref} Twice over")
    assert "for ECC officers only" in await head.say(f"reopen {ref} please")
