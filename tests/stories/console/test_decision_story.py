"""After the shortlist, in the console: a decision panel of an officer and stakeholders recommends, an officer
decides with a reason the school sees, and the approved EOI's implementation plan runs to first pupils, the
school and the officers told at every step."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from dialogs.replies import Reply
from dialogs.turns import Speaker
from storage import people
from storage.models import EOI, AuditEntry, Discussion, Milestone, Recommendation
from tests.chat import Chat, complete_eoi, headteacher, officer


async def _submitted(service, urn: str = "114000", user: str = "head") -> tuple[str, Chat]:
    head = await headteacher(service, urn=urn, user=user)
    return re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0), head


async def told(service, user: str, *, school: str | None = None, audience: str = "") -> list[Reply]:
    """What reached this console user since last asked: their school's notices, or the officers' notices, and
    those for them alone (audience "person": only those)."""
    found = await service.conversations.pending_notices(
        destination=f"console:{user}",
        audience=audience or ("school" if school else "officers"),
        school_urn=school,
        recipient=f"console:{user}",
    )
    return [Reply.from_dict(n.body) for n in found]


def text(replies: list[Reply]) -> str:
    return "\n".join(
        f"{r.title}\n{r.text.plain}\n" + "\n".join(f"{f.label}: {f.value}" for f in r.facts) for r in replies
    )


async def _status(service, ref: str) -> str:
    async with service.db.session() as session:
        return (await session.scalar(select(EOI).where(EOI.ref == ref))).status


async def test_one_eoi_from_shortlist_through_a_panel_decision_and_its_plan_to_first_pupils(service, clock):
    ref, head = await _submitted(service)
    desk, finance = officer(service), Chat(service, Speaker("console", "finance-lead", "Fay Finance"))
    await finance.say("hi")  # a stakeholder who has used the bot: no role, no school
    await told(service, "officer-1")
    await told(service, "head", school="114000")

    await desk.say(f"shortlist {ref} Strong offer")
    assert "shortlisted" in text(await told(service, "head", school="114000"))

    # The officer asks a panel: themselves and the finance lead (by platform id, with what they bring).
    said = await desk.say(f"panel {ref} me as SEND quadrant lead, console:finance-lead as finance")
    assert f"{ref} is under consideration" in said and "Fay Finance (console) (finance)" in said
    assert "has been told it is under consideration" in said
    school_heard = text(await told(service, "head", school="114000"))
    assert "under consideration" in school_heard and "stakeholders" in school_heard
    assert "under consideration" in await head.say("status")
    assert "you'll be told the decision" in head.text

    # Each member is asked in their own chat, with Approve / Decline / Abstain asking for a reason.
    asked = await told(service, "finance-lead", audience="person")
    assert len(asked) == 1 and "your recommendation" in asked[0].title
    assert [c.label for c in asked[0].choices] == ["Approve", "Decline", "Abstain"]
    assert asked[0].choices[0].form.command == f"recommend {ref} approve"
    assert "give your reason" in await finance.say(f"recommend {ref} approve")
    assert "recorded" in await finance.say(f"recommend {ref} approve Costs are within the high needs budget")
    officers_heard = text(await told(service, "officer-1"))
    assert "Fay Finance recommends approve" in officers_heard and "1 of 2 on the panel" in officers_heard
    assert "recorded" in await desk.say(f"recommend {ref} abstain I chaired the discussion")
    # Someone not on the panel can't recommend.
    outsider = Chat(service, Speaker("console", "nosy"))
    assert "not on a decision panel" in await outsider.say(f"recommend {ref} decline Just because")

    shown = await desk.say(f"show {ref}")
    assert "Decision panel" in shown and "Fay Finance (console), finance: approve" in shown
    assert "Costs are within the high needs budget" in shown and "SEND quadrant lead: abstain" in shown

    # The decision, with a reason the school sees; the plan starts.
    said = await desk.say(f"decide {ref} approve The panel supports 12 ASD places from September 2027")
    assert f"Recorded: {ref} approved" in said and "implementation plan has started" in said
    assert "The panel recommended: 1 approve, 1 abstain." in said
    decision = (await told(service, "head", school="114000"))[-1]
    assert "approved" in decision.text and "The panel supports 12 ASD places" in decision.text
    # A community school: a maintained school's plan, the prescribed alteration's statutory steps in it.
    plan = next(f.value for f in decision.facts if f.label.startswith("Implementation plan"))
    assert "Implementation plan (a maintained school's prescribed alteration)" in [f.label for f in decision.facts]
    assert (
        "1. Service level agreement signed (ECC): due" in plan
        and "2. Statutory proposal published (prescribed alteration) (ECC): due" in plan
        and "9. First pupils (school; ECC marks it done): due" in plan
        and "Significant change" not in plan
    )
    assert "1 September 2027" in plan  # first pupils on the opening date the school gave
    shown = await desk.say(f"show {ref}")
    assert "Panel's recommendations" in shown and "Decision: approved by" in shown

    # Each side sees its next steps with `status`.
    status = await head.say("status")
    assert "Your next steps" in status and "Staffing recruited (school)" in status
    assert "ECC's next steps" in status and "Service level agreement signed (ECC)" in status
    assert "Admissions agreed" in await desk.say("status")

    # The school can't mark ECC's milestone; ECC marks it, and the school hears.
    assert "ECC's to mark done" in await head.say(f"done {ref} sla")
    assert "Marked done: Service level agreement signed" in await desk.say(f"done {ref} sla")
    assert "Service level agreement signed done" in text(await told(service, "head", school="114000"))
    await desk.say(f"done {ref} admissions")
    for statutory in ("proposal", "representation", "decision", "place change"):
        assert "Marked done" in await desk.say(f"done {ref} {statutory}")
    await told(service, "head", school="114000")

    # The school marks its own, typed or with the button; ECC hears each.
    assert "Marked done: Staffing recruited" in await head.say("done staffing")
    await head.say("status")
    await head.press("Done: Accommodation ready")
    assert "Marked done: Accommodation ready" in head.text
    heard = text(await told(service, "officer-1"))
    assert "marked “Staffing recruited” done" in heard and "marked “Accommodation ready” done" in heard
    assert await _status(service, ref) == "approved"
    # First pupils opens the provision: an officer confirms it.
    assert "This opens the provision" in await desk.say(f"done {ref} first pupils")
    assert "Marked done: First pupils" in await desk.press("Yes, it's open")
    assert "The provision is open" in desk.text
    assert await _status(service, ref) == "opened"
    assert "is open: first pupils" in text(await told(service, "officer-1"))
    assert "is open: first pupils" in text(await told(service, "head", school="114000"))  # all its staff
    assert "opened" in await head.say("status")

    async with service.db.session() as session:
        actions = [a.action for a in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        rows = list(await session.scalars(select(Recommendation)))
    for action in ("consider", "panel add", "recommend approve", "recommend abstain", "approve", "milestone done"):
        assert action in actions, action
    assert actions[-1] == "open" and all(r.decision_id for r in rows)


async def test_a_decline_needs_a_reason_and_calls_off_the_pending_discussion(service):
    ref, head = await _submitted(service)
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")
    await desk.say(f"panel {ref} me")
    # Under consideration before the discussion: the school still sees it and can accept it.
    heard = await told(service, "head", school="114000")
    assert "Thursday 3 December 2026 at 10:30am" in await head.say("status")
    head.replies = [next(r for r in heard if r.title.endswith("discussion invitation"))]
    assert "accepted" in await head.press("Accept")
    said = await desk.say(f"decide {ref} decline")
    assert "A decline needs a reason for the school" in said and "Nothing has changed" in said
    assert desk.last.field_errors["note"]
    assert await _status(service, ref) == "under consideration"
    said = await desk.say(f"decide {ref} decline The accommodation won't be ready before 2029")
    assert "Recorded" in said and "discussion on Thursday 3 December 2026 at 10:30am is cancelled" in said
    heard = await told(service, "head", school="114000")
    assert [r.title for r in heard] == [f"{ref}: declined", f"{ref}: discussion cancelled", ""]
    assert heard[2].file and "METHOD:CANCEL" in heard[2].file[1]  # the school's calendar event is removed too
    assert "Why: The accommodation won't be ready before 2029" in heard[0].text
    async with service.db.session() as session:
        assert (await session.scalar(select(Discussion))).response == "cancelled"
        assert not list(await session.scalars(select(Milestone)))  # no plan for a decline


async def test_the_existing_decide_grammar_still_works_after_a_discussion(service):
    ref, _head = await _submitted(service)
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")
    assert f"Recorded: {ref} approved" in await desk.say(f"decide {ref} approve")


async def test_a_stakeholder_named_by_email_is_asked_once_they_have_used_the_bot(service):
    ref, _head = await _submitted(service)
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    said = await desk.say(f"panel {ref} trust.ceo@academy.example as the school's trust")
    assert "can't reach trust.ceo@academy.example yet" in said and "Nothing has changed" in said
    assert await _status(service, ref) == "shortlisted"
    async with service.db.session() as session:  # they message the bot from Slack, which gives their email
        await people.identify(session, platform="slack", user_id="U0TRUST", email="Trust.CEO@academy.example")
        await session.commit()
    said = await desk.say(f"panel {ref} trust.ceo@academy.example as the school's trust")
    assert "slack:U0TRUST (the school's trust)" in said
    async with service.db.session() as session:
        row = await session.scalar(select(Recommendation))
    assert (row.member, row.role, row.recommendation) == ("slack:U0TRUST", "the school's trust", "")


async def test_the_scheduler_reminds_owners_before_dates_and_tells_officers_of_slips_once(service, clock):
    from dialogs.schedule import plan_due
    from storage.models import Notice

    ref, _head = await _submitted(service)
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")
    await desk.say(f"decide {ref} approve")
    async with service.db.session() as session:
        sla = await session.scalar(select(Milestone).where(Milestone.key == "sla"))
    clock.set(sla.due_at - timedelta(days=6))
    for _ in range(2):  # twice: once-only
        async with service.db.session() as session:
            await plan_due(session, clock.now())

    def about(found: list[Notice], title: str) -> list[tuple[str, str]]:
        return [(n.kind, n.audience) for n in found if title in Reply.from_dict(n.body).title]

    async with service.db.session() as session:
        found = list(await session.scalars(select(Notice).where(Notice.kind.like("milestone%"))))
    assert about(found, "Service level agreement") == [("milestone due", "officers")]  # ECC owns the SLA
    assert "is due on" in next(Reply.from_dict(n.body).text for n in found if n.kind == "milestone due")
    # Approved in December for a September opening: the place change was due by 4 December, told once as late.
    assert about(found, "High-needs place change") == [("milestone late", "officers")]
    clock.set(sla.due_at + timedelta(days=1))
    for _ in range(2):
        async with service.db.session() as session:
            await plan_due(session, clock.now())
    async with service.db.session() as session:
        found = list(await session.scalars(select(Notice).where(Notice.kind.like("milestone%"))))
    assert about(found, "Service level agreement") == [("milestone due", "officers"), ("milestone late", "officers")]
    portfolio = await desk.say("list implementing")
    assert "1 EOI being implemented; " in portfolio and "LATE: was due" in desk.last.facts[0].value


async def test_an_officers_export_has_the_decision_its_reason_and_the_discussion_on_londons_clock(service, clock):
    """The export gave `submitted_at` as UTC with microseconds and nothing of the decision or the discussion."""
    ref, _head = await _submitted(service)
    other, _ = await _submitted(service, urn="114001", user="head-2")
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30 at County Hall, Chelmsford")
    clock.set(clock.now() + timedelta(days=4))  # Friday 4 December: the discussion has taken place
    assert "Recorded" in await desk.say(f"decide {ref} approve Strong, ready accommodation and staff")
    await desk.say("export")
    header, *_ = desk.last.file[1].splitlines()
    # The columns that were there keep their places; the new ones come last.
    assert header.startswith("ref,window,urn,school,quadrant,district,phase,status,submitted_at,provision_type,")
    assert ",contact_phone,decision,decision_reason,discussion_at,discussion_place," in header  # then version 2
    rows = {r["ref"]: r for r in csv.DictReader(io.StringIO(desk.last.file[1]))}
    approved = rows[ref]
    assert approved["submitted_at"] == "2026-11-30 10:00+00:00"  # London's clock (GMT), to the minute
    assert approved["decision"] == "approved" and approved["decision_reason"] == "Strong, ready accommodation and staff"
    assert (
        approved["discussion_at"] == "2026-12-03 10:30+00:00"
        and "County Hall, Chelmsford" in approved["discussion_place"]
    )
    untouched = rows[other]
    assert [untouched[c] for c in ("decision", "decision_reason", "discussion_at", "discussion_place")] == [""] * 4
