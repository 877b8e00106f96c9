"""Records are kept only as long as the council needs them (UK GDPR storage limitation): `eoi-bot retention`
shows and removes what has outlived its period, and the running service applies the same rules daily."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import func, select

from bot import cli
from bot.app import housekeeping
from storage import eois, evidence
from storage.models import EOI, AuditEntry, Decision, Delivery, Discussion, EvidenceFile, Notice
from tests.chat import complete_eoi, headteacher, officer
from tests.cli_db import use_test_database


async def _submitted(service, urn: str, user: str) -> str:
    head = await headteacher(service, urn=urn, user=user)
    return re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)


async def _a_year_of_eois(service) -> dict[str, str]:
    """One approved, one not shortlisted, one withdrawn, one still submitted and one draft never submitted."""
    refs = {
        "approved": await _submitted(service, "114000", "head-a"),
        "not shortlisted": await _submitted(service, "114001", "head-b"),
        "withdrawn": await _submitted(service, "114015", "head-c"),
        "submitted": await _submitted(service, "114016", "head-d"),
    }
    desk = officer(service)
    await desk.say(f"shortlist {refs['approved']}")
    await desk.say(f"schedule {refs['approved']} Tuesday at 2pm")
    assert "Recorded" in await desk.say(f"decide {refs['approved']} approve Opening September 2027")
    assert "is marked not shortlisted" in await desk.say(
        f"not-shortlisted {refs['not shortlisted']} The need in your area is met this year."
    )
    withdrawer = await headteacher(service, urn="114015", user="head-c")
    await withdrawer.say("withdraw")
    assert "withdrawn" in await withdrawer.press("Yes, withdraw")
    drafter = await headteacher(service, urn="114002", user="head-e")
    await drafter.say("start")
    await drafter.say("Resourced Provision")
    async with service.db.session() as session:
        refs["draft"] = await session.scalar(select(EOI.ref).where(EOI.school_urn == "114002"))
    # The schools read their messages in the console: the delivery log has entries.
    for user, urn in (("head-a", "114000"), ("head-b", "114001")):
        await service.conversations.pending_notices(destination=f"console:{user}", audience="school", school_urn=urn)
    return refs


async def _retention(monkeypatch, capsys, test_db, now, *args: str, **env: str) -> str:
    use_test_database(monkeypatch, test_db, now)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert await asyncio.to_thread(cli.main, ["retention", *args]) == 0
    return capsys.readouterr().out


async def _counts(service) -> dict[str, int]:
    async with service.db.session() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model))
            for model in (EOI, AuditEntry, Notice, Delivery, Discussion, Decision)
        }


async def test_unsuccessful_eois_and_old_drafts_go_after_their_periods_and_approved_ones_stay(
    service, test_db, monkeypatch, capsys
):
    refs = await _a_year_of_eois(service)
    now = service.clock.now()
    before = await _counts(service)

    # 400 days on: the draft's window closed more than a year ago; unsuccessful EOIs are kept two years.
    text = await _retention(monkeypatch, capsys, test_db, now + timedelta(days=400), "--dry-run")
    assert text.startswith("Retention (dry run: nothing removed)")
    assert re.search(
        rf"drafts never submitted \(EOI_RETAIN_DRAFTS_DAYS=365 .*\): 1 EOIs.*: {refs['draft']}$", text, re.M
    )
    assert re.search(r"unsuccessful EOIs \(EOI_RETAIN_UNSUCCESSFUL_DAYS=730 .*\): nothing$", text, re.M)
    # The approved school read 4 messages (shortlisted, the calendar file, the invitation, the decision), the other 1.
    assert re.search(r"delivery log \(EOI_RETAIN_DELIVERY_LOG_DAYS=90 .*\): 5 deliveries, \d+ notices$", text, re.M)
    assert await _counts(service) == before  # a dry run changes nothing

    # (The delivery log is kept longer here, to see notices and deliveries go with the EOIs they are about.)
    text = await _retention(
        monkeypatch, capsys, test_db, now + timedelta(days=400), EOI_RETAIN_DELIVERY_LOG_DAYS="3650"
    )
    assert text.startswith("Retention: removed")
    async with service.db.session() as session:
        left = dict((await session.execute(select(EOI.ref, EOI.status))).all())
    assert refs["draft"] not in left and refs["withdrawn"] in left

    # 800 days on: the not shortlisted and withdrawn EOIs go too, with everything that refers to them.
    text = await _retention(
        monkeypatch, capsys, test_db, now + timedelta(days=800), EOI_RETAIN_DELIVERY_LOG_DAYS="3650"
    )
    line = next(line for line in text.splitlines() if "unsuccessful EOIs" in line)
    assert "2 EOIs" in line and refs["not shortlisted"] in line and refs["withdrawn"] in line
    async with service.db.session() as session:
        left = dict((await session.execute(select(EOI.ref, EOI.status))).all())
        removals = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "retention remove", AuditEntry.eoi_id.is_(None))
            )
        )
        approved_id = await session.scalar(select(EOI.id).where(EOI.ref == refs["approved"]))
        approved_history = await session.scalar(select(func.count()).where(AuditEntry.eoi_id == approved_id))
    assert left == {refs["approved"]: "approved", refs["submitted"]: "submitted"}
    assert approved_history >= 4  # the commissioning record keeps its audit trail (six years)
    notes = {e.note.split(" ")[0]: e for e in removals if e.note.startswith("EOI-")}
    assert set(notes) == {refs["draft"], refs["not shortlisted"], refs["withdrawn"]}
    withdrawn = notes[refs["withdrawn"]]
    assert withdrawn.actor == "retention" and withdrawn.from_status == "withdrawn"
    assert withdrawn.note.endswith(
        "removed with 3 audit entries, 2 notices, 0 deliveries, 0 discussions, 0 decisions, 0 files"
    )
    told = "removed with 3 audit entries, 2 notices, 1 deliveries, 0 discussions, 0 decisions, 0 files"
    assert notes[refs["not shortlisted"]].note.endswith(told)
    assert "@" not in withdrawn.note and "console:" not in withdrawn.note  # by reference and count only

    # Its discussion, decision and messages stay with the approved EOI, until the delivery log's 90 days apply.
    counts = await _counts(service)
    assert (counts["discussions"], counts["decisions"], counts["deliveries"]) == (1, 1, 4)
    text = await _retention(monkeypatch, capsys, test_db, now + timedelta(days=800), EOI_RETAIN_DELIVERY_LOG_DAYS="90")
    assert re.search(r"delivery log .*: 4 deliveries, \d+ notices$", text, re.M)
    counts = await _counts(service)
    assert (counts["discussions"], counts["decisions"], counts["deliveries"], counts["notices"]) == (1, 1, 0, 0)

    # The approved EOI still reads whole for an officer.
    show = await officer(service).say(f"show {refs['approved']}")
    assert "approved" in show and "approve by console:officer-1" in show


async def test_a_draft_never_submitted_goes_with_its_files_and_a_submitted_eoi_keeps_its_own(
    service, test_db, monkeypatch, capsys
):
    """A school attached a site plan and a photo to a draft it never submitted; another submitted its EOI with its
    minutes. A year after the window closed the draft goes, and its files with it (counted, by number only); the
    submitted EOI's file stays, byte for byte."""
    from storage.lifecycle import SCHOOL
    from storage.models import School
    from storage.transitions import transition
    from tests.unit.storage.test_evidence import MINUTES, PHOTO, SITE_PLAN

    now = service.clock.now()
    async with service.db.session() as session:
        meadow = await eois.start_draft(
            session, await session.get(School, "114000"), actor="console:head-a", now=now, offer="resourced"
        )
        await transition(session, meadow, "submit", by=SCHOOL, actor="console:head-a", now=now)
        draft = await eois.start_draft(
            session, await session.get(School, "114002"), actor="console:head-e", now=now, offer="resourced"
        )
        for eoi, name, data in (
            (meadow, "Governors minutes.docx", MINUTES),
            (draft, "Site plan.pdf", SITE_PLAN),
            (draft, "library.png", PHOTO),
        ):
            await evidence.keep_file(session, eoi, name=name, data=data, by=eoi.started_by, now=now)
        await session.commit()

    text = await _retention(monkeypatch, capsys, test_db, now + timedelta(days=400))
    assert re.search(rf"drafts never submitted .*: 1 EOIs, 3 audit entries, 2 files: {draft.ref}$", text, re.M), text
    async with service.db.session() as session:
        note = await session.scalar(select(AuditEntry.note).where(AuditEntry.note.like(f"{draft.ref} (drafts%")))
        kept = list(await session.scalars(select(EvidenceFile)))
        data = await evidence.file_data(session, kept[0].id)
    assert note.endswith(", 2 files") and "Site plan" not in note  # by number only
    assert [(f.eoi_id, f.name) for f in kept] == [(meadow.id, "Governors minutes.docx")] and data == MINUTES


async def test_the_audit_period_is_set_by_environment_and_a_bad_value_is_refused(service, test_db, monkeypatch, capsys):
    ref = await _submitted(service, "114000", "head-a")
    later = service.clock.now() + timedelta(days=31)
    text = await _retention(monkeypatch, capsys, test_db, later, EOI_RETAIN_AUDIT_DAYS="30")
    assert re.search(r"audit entries \(EOI_RETAIN_AUDIT_DAYS=30 .*\): \d+ audit entries", text)
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.ref == ref))
        kept = [e.action for e in await session.scalars(select(AuditEntry))]
    assert eoi.status == "submitted"  # a submitted EOI is not removed by the audit period
    assert kept == ["retention remove"]  # only the note of what retention removed

    monkeypatch.setenv("EOI_RETAIN_AUDIT_DAYS", "six years")
    assert await asyncio.to_thread(cli.main, ["retention", "--dry-run"]) == 2
    assert "EOI_RETAIN_AUDIT_DAYS='six years' should be a whole number of days" in capsys.readouterr().err


async def test_the_running_service_applies_retention_when_it_starts_and_then_daily(service):
    drafter = await headteacher(service, urn="114002", user="head-e")
    await drafter.say("start")
    due = housekeeping(service)
    await due()  # at start-up: nothing has outlived its period
    async with service.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(EOI)) == 1
    service.clock.advance(timedelta(days=400))
    await due()
    async with service.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(EOI)) == 0
        note = await session.scalar(select(AuditEntry.note).where(AuditEntry.action == "retention remove"))
    assert note.startswith("EOI-2627A-001 (drafts never submitted, kept 365 days)")


async def test_the_scheduler_applies_retention_once_a_day_not_every_round(service, monkeypatch):
    from storage import retention

    runs = []
    real_apply = retention.apply

    async def counted(*args, **kwargs):
        runs.append(service.clock.now())
        return await real_apply(*args, **kwargs)

    monkeypatch.setattr(retention, "apply", counted)
    due = housekeeping(service)
    await due()
    await due()
    service.clock.advance(timedelta(hours=23))
    await due()
    assert len(runs) == 1
    service.clock.advance(timedelta(hours=1))
    await due()
    assert len(runs) == 2


async def test_a_message_still_waiting_to_be_sent_is_never_forgotten(service, test_db, monkeypatch, capsys):
    from storage import notices

    now = service.clock.now()
    async with service.db.session() as session:
        waiting = await notices.to_school(session, school_urn="114000", kind="test", body={"text": "waiting"}, now=now)
        sent = await notices.to_school(session, school_urn="114001", kind="test", body={"text": "sent"}, now=now)
        await session.flush()
        for notice_id, status in ((waiting, "pending"), (sent, "sent")):
            session.add(
                Delivery(
                    key=f"notice:{notice_id}:slack:C{notice_id}",
                    notice_id=notice_id,
                    destination=f"slack:C{notice_id}",
                    status=status,
                    created_at=now,
                )
            )
        await session.commit()
    text = await _retention(monkeypatch, capsys, test_db, now + timedelta(days=91), EOI_RETAIN_DELIVERY_LOG_DAYS="90")
    assert re.search(r"delivery log .*: 1 deliveries, 1 notices$", text, re.M)
    async with service.db.session() as session:
        left = (await session.execute(select(Notice.body, Delivery.status).join(Delivery))).all()
    assert left == [({"text": "waiting"}, "pending")]


async def test_people_with_no_role_link_or_record_and_references_to_people_no_one_knows_go_after_their_period(
    service, test_db, monkeypatch, capsys
):
    """With the clock years on, someone who only ever said "hi" (an email that matched no school) is gone, with
    the reference to their personal chat and one to a person no one knows; the head, the officer, a panel member
    (the panel's record names her) and a channel stay."""
    from dialogs.turns import Speaker
    from storage import conversation_refs
    from storage.models import ConversationRef, Person
    from tests.chat import Chat

    now = service.clock.now()
    ref = await _submitted(service, "114000", "head-a")
    hello = Chat(service, Speaker("msteams", "29:hello", "Harry Hello", email="harry@elsewhere.example"))
    assert "help" in (await hello.say("hi")).lower()
    finance = Chat(service, Speaker("console", "finance-lead", "Fay Finance"))
    await finance.say("hi")
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"panel {ref} console:finance-lead as finance")
    await finance.say(f"recommend {ref} approve Good")
    async with service.db.session() as session:
        for key, scope, user in (
            ("29:hello", "personal", "29:hello"),
            ("29:gone", "personal", "29:gone"),
            ("19:staff@thread.tacv2", "channel", ""),
        ):
            await conversation_refs.remember(
                session, platform="msteams", key=key, scope=scope, user_id=user, reference={"k": key}, now=now
            )
        await session.commit()

    text = await _retention(monkeypatch, capsys, test_db, now + timedelta(days=30))
    assert re.search(r"people with no role \(EOI_RETAIN_PEOPLE_DAYS=90 .*\): nothing$", text, re.M), text
    later = now + timedelta(days=365 * 7)  # 2033: the audit log has gone too, but links and roles remain
    text = await _retention(monkeypatch, capsys, test_db, later, EOI_RETAIN_DELIVERY_LOG_DAYS="3650")
    assert re.search(r"people with no role .*: 1 people, 2 conversation references$", text, re.M), text
    async with service.db.session() as session:
        people = set(await session.scalars(select(Person.platform + ":" + Person.user_id)))
        refs = set(await session.scalars(select(ConversationRef.key)))
        note = await session.scalar(select(AuditEntry.note).where(AuditEntry.note.like("%people with no role%")))
    assert "msteams:29:hello" not in people
    assert {"console:head-a", "console:officer-1", "console:finance-lead"} <= people
    assert refs == {"19:staff@thread.tacv2"}
    assert "harry" not in note.lower() and "29:" not in note  # counts only
    # Harry comes back: he is simply met again.
    assert "help" in (await hello.say("hi")).lower()
