"""A headteacher asks what the council holds about them, then asks to be erased (UK GDPR articles 15 and 17):
`eoi-bot person export EMAIL` and `eoi-bot person erase EMAIL --confirm`."""

from __future__ import annotations

import asyncio
import json
import re
import stat

from sqlalchemy import JSON, String, Text, cast, func, select

from bot import cli
from dialogs import conversation_state
from dialogs.conversation_state import CheckingAnswer, Idle
from dialogs.turns import Speaker
from storage import conversation_refs, events, subject_access
from storage.models import EOI, AuditEntry, Base, Person, School
from tests.chat import RESOURCED_ANSWERS, Chat, headteacher, officer
from tests.cli_db import use_test_database

EMAIL = "head114000@demo-school.example"  # the register's headteacher of 114000 (demo data)
SLACK, TEAMS, CONSOLE = "U0ANNHEAD", "29:1ann-head-teams", "head-114000"


async def _ann_fills_in_her_eoi_in_slack_and_the_console(service) -> str:
    slack = Chat(service, Speaker("slack", SLACK, "Ann Head", email=EMAIL))
    await slack.say("start")
    for answer in RESOURCED_ANSWERS[:5]:
        await slack.say(answer)
    # She carries on at the console (`eoi-bot chat --as headteacher --school 114000` links it to the school).
    console = await headteacher(service, urn="114000", user=CONSOLE)
    await console.say("start")
    # The contact's four questions come last: hers in place of the usual contact's.
    answers = [*RESOURCED_ANSWERS[5:-4], "Ann Head", "Headteacher", EMAIL, "01245 123456"]
    for answer in answers:
        await console.say(answer)
    assert console.last.kind == "review", console.text
    await console.press("Submit")
    ref = re.search(r"EOI-2627A-\d{3}", await console.press("I confirm")).group(0)
    # She also says hello in Teams, where the bot keeps a reference to her personal chat.
    await Chat(service, Speaker("msteams", TEAMS, "Ann Head", email=EMAIL)).say("status")
    async with service.db.session() as session:
        await conversation_refs.remember(
            session,
            platform="msteams",
            key=TEAMS,
            scope="personal",
            user_id=TEAMS,
            reference={"user": {"id": TEAMS, "name": "Ann Head"}, "conversation": {"id": "a:1ann"}},
            now=service.clock.now(),
        )
        await session.commit()
    await events.first_time(service.db, f"slack:greeted:{SLACK}", service.clock.now())  # as the Slack adapter does
    assert "is shortlisted" in await officer(service).say(f"shortlist {ref}")
    await service.conversations.pending_notices(
        destination=f"console:{CONSOLE}", audience="school", school_urn="114000"
    )
    return ref


async def _person(monkeypatch, capsys, test_db, service, *args: str) -> tuple[int, str, str]:
    use_test_database(monkeypatch, test_db, service.clock.now())
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["person", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def _mentions(service, needles: list[str]) -> list[str]:
    """Every text column of every table, searched for each needle: where any is still found."""
    found = []
    async with service.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | JSON):  # a JSON column's python_type is `object`
                    continue
                for needle in needles:
                    # Read unfolded: a calendar file's long lines are split, and may split a name.
                    for value in await session.scalars(select(cast(column, Text)).where(column.is_not(None))):
                        if needle.lower() in re.sub(r"(\\r)?\\n |\r?\n ", "", value).lower():
                            found.append(f"{table.name}.{column.name} has {needle}")
                            break
    return found


async def test_a_head_gets_everything_held_about_her_and_then_is_erased_keeping_the_eoi_and_its_trail(
    service, test_db, monkeypatch, capsys, tmp_path
):
    ref = await _ann_fills_in_her_eoi_in_slack_and_the_console(service)

    # Subject access: by her email, plus the console identity the council knows is hers.
    out = tmp_path / "ann.json"
    code, text, _ = await _person(
        monkeypatch, capsys, test_db, service, "export", EMAIL, "--id", f"console:{CONSOLE}", "--out", str(out)
    )
    assert code == 0 and f"to {out}" in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    held = json.loads(out.read_text())
    assert sorted(f"{p['platform']}:{p['user_id']}" for p in held["people"]) == sorted(
        [f"slack:{SLACK}", f"msteams:{TEAMS}", f"console:{CONSOLE}"]
    )
    assert [s["urn"] for s in held["register_as_headteacher"]] == ["114000"]
    [eoi] = held["eois"]
    assert eoi["ref"] == ref and eoi["why"] == ["named as the contact", "started by them"]
    assert eoi["answers"]["contact_email"] == EMAIL and eoi["answers"]["places"] == 12
    actions = {(a["actor"], a["action"], a["eoi"]) for a in held["audit"]}
    assert (f"slack:{SLACK}", "start", ref) in actions and (f"console:{CONSOLE}", "submit", ref) in actions
    assert [m["destination"] for m in held["messages_to_them"]] == [f"console:{CONSOLE}"]
    assert [r["key"] for r in held["conversation_references"]] == [TEAMS]
    assert {"table": "processed_events", "column": "key", "row": {"key": f"slack:greeted:{SLACK}"}} in held["mentions"]

    # Without --confirm, erasure only says what it would change.
    code, text, _ = await _person(monkeypatch, capsys, test_db, service, "erase", EMAIL, "--id", f"console:{CONSOLE}")
    assert code == 0 and text.startswith("Would erase (nothing changed; run again with --confirm to do it):")
    assert f"slack:{SLACK} -> [erased person" in text
    async with service.db.session() as session:
        assert await session.scalar(select(func.count()).where(Person.email == EMAIL)) == 2

    code, text, _ = await _person(
        monkeypatch, capsys, test_db, service, "erase", EMAIL, "--id", f"console:{CONSOLE}", "--confirm"
    )
    assert code == 0 and text.startswith("Erased:")
    assert "headteacher name and email blanked for 114000" in text and "Correct the council's source register" in text
    assert "nothing else in the database mentions them" in text

    # Nothing in the database holds her email, any of her user ids or her name any more.
    assert await _mentions(service, [EMAIL, SLACK, TEAMS, CONSOLE, "Ann Head", "Head Teacher 114000"]) == []
    async with service.db.session() as session:
        console_person = await session.scalar(select(Person).where(Person.platform == "console", Person.role == ""))
        eoi_row = await session.scalar(select(EOI).where(EOI.ref == ref))
        school = await session.get(School, "114000")
        erased = await session.scalar(select(AuditEntry).where(AuditEntry.action == "erase person"))
    # The EOI is the school's: kept, with only the contact's details erased.
    assert eoi_row.status == "shortlisted" and eoi_row.answers["places"] == 12
    assert eoi_row.answers["contact_email"] == "[erased]" and eoi_row.answers["contact_role"] == "Headteacher"
    assert (school.headteacher_name, school.headteacher_email) == ("", "")
    assert erased.actor == "cli" and "[erased person" in erased.note and "@" not in erased.note

    # The audit trail still reads, and an officer can still see the EOI.
    show = await officer(service).say(f"show {ref}")
    assert f"submit by [erased person {console_person.id}] (draft → submitted)" in show
    assert re.search(r"start by \[erased person \d+\]", show) and "shortlist by console:officer-1" in show


async def test_a_person_command_needs_an_email_address_and_says_when_nothing_is_held(
    service, test_db, monkeypatch, capsys
):
    code, _, err = await _person(monkeypatch, capsys, test_db, service, "export", "not-an-email")
    assert code == 2 and "'not-an-email' is not an email address" in err
    code, text, _ = await _person(monkeypatch, capsys, test_db, service, "erase", "nobody@example.org", "--confirm")
    assert code == 0 and "Nothing held about that person" in text
    code, text, _ = await _person(monkeypatch, capsys, test_db, service, "export", "nobody@example.org")
    held = json.loads(text)
    assert held["people"] == [] and held["eois"] == [] and held["mentions"] == []


async def test_erasure_finds_every_name_a_person_went_by_and_fails_loudly_when_one_remains(
    service, test_db, monkeypatch, capsys
):
    """A head, a panel member and an officer are erased after a discussion was booked (its calendar file names
    the head) and a panel recommended (officers were told "Fay Finance recommends approve"): no name is left,
    and when one can't be erased safely (someone else has that name) the command says where and exits 1."""
    desk = Chat(service, Speaker("console", "officer-1", "Olive Officer"))
    finance = Chat(service, Speaker("console", "finance-lead", "Fay Finance"))
    await finance.say("hi")
    ref = await _ann_fills_in_her_eoi_in_slack_and_the_console(service)
    assert "is booked" in await desk.say(f"schedule {ref} Tuesday at 2pm at County Hall") or desk.text
    await desk.say(f"panel {ref} console:finance-lead as finance")
    await finance.say(f"recommend {ref} approve Costs are within the high needs budget")
    names = ["Head Teacher 114000", "Fay Finance", "Olive Officer"]
    assert len(await _mentions(service, names)) > 3  # in notices, deliveries and the calendar file

    for email, identity in (
        (EMAIL, f"console:{CONSOLE}"),
        ("fay@finance.example", "console:finance-lead"),
        ("olive@essex.example", "console:officer-1"),
    ):
        code, text, _ = await _person(
            monkeypatch, capsys, test_db, service, "erase", email, "--id", identity, "--confirm"
        )
        assert code == 0 and "nothing else in the database mentions them" in text, text
    assert await _mentions(service, [*names, EMAIL]) == []
    async with service.db.session() as session:
        from storage.models import Notice

        calendars = [n.body["file"][1] for n in await session.scalars(select(Notice).where(Notice.kind == "calendar"))]
    assert calendars and all('CN="[erased person' in c.replace("\r\n ", "") for c in calendars)

    # Another Fay Finance: erasing the first can't tell whose name a stored line is, so it says and fails.
    await Chat(service, Speaker("console", "fay-2", "Fay Finance")).say("hi")
    await Chat(service, Speaker("console", "fay-1", "Fay Finance")).say("hi")
    code, text, _ = await _person(
        monkeypatch, capsys, test_db, service, "erase", "fay1@x.example", "--id", "console:fay-1", "--confirm"
    )
    assert code == 1 and "STILL MENTIONED, not erased (check and correct by hand): people.display_name" in text


async def test_what_a_head_was_asked_is_exported_and_erased_with_her(service):
    """Her conversation state may hold her own words (a reading of an answer waiting for yes or no): the export
    has it, with the rest of her people row, and erasure blanks it."""
    slack = Chat(service, Speaker("slack", SLACK, "Ann Head", email=EMAIL))
    await slack.say("start")
    for answer in RESOURCED_ANSWERS[:4]:
        await slack.say(answer)
    assert slack.last.question_id == "places", slack.text
    assert "Do you mean" in await slack.say("maybe ten")  # asked back: waiting in her state
    subject = subject_access.Subject.parse(EMAIL)
    async with service.db.session() as session:
        held = await subject_access.export(session, subject, now=service.clock.now())
        [row] = [p for p in held["people"] if p["user_id"] == SLACK]
        assert isinstance(conversation_state.from_json(row["conversation"]), CheckingAnswer), row
        await subject_access.erase(session, subject, actor="console:dpo", now=service.clock.now(), confirm=True)
        await session.commit()
    async with service.db.session() as session:
        erased = await session.get(Person, row["id"])
        assert erased.conversation == {}
        assert conversation_state.of(erased) == Idle()


async def test_a_heads_files_are_given_to_her_in_full_and_go_when_she_is_erased(service):
    """Ann attached a letter that names her and a deputy a photo to her EOI, and as executive head she sent minutes
    to the other school's EOI. She asks what is held: each file comes with its type, size, SHA-256 and its bytes.
    Then she is erased: the EOI is kept, but those three files go (a file can't have her name taken out of it);
    the other head's own file stays, and nothing left names her."""
    import base64
    import hashlib

    from storage import eois, evidence
    from storage.models import EvidenceFile
    from tests.unit.storage.test_evidence import COSTS, MINUTES, PHOTO, pdf

    letter = pdf("Letter of support from Ann Head, headteacher")
    now = service.clock.now()
    ann = f"slack:{SLACK}"
    async with service.db.session() as session:
        session.add(Person(platform="slack", user_id=SLACK, display_name="Ann Head", email=EMAIL, role="headteacher"))
        contact = {"contact_name": "Ann Head", "contact_role": "Headteacher", "contact_email": EMAIL}
        hers = await eois.start_draft(
            session, await session.get(School, "114000"), actor=ann, now=now, offer="resourced", answers=contact
        )
        other = await eois.start_draft(
            session, await session.get(School, "114001"), actor="console:head-114001", now=now, offer="resourced"
        )
        for eoi, name, data, by in (
            (hers, "Letter from Ann Head.pdf", letter, ann),
            (hers, "library.png", PHOTO, "console:deputy-114000"),
            (other, "joint governors minutes.docx", MINUTES, ann),
            (other, "costs.xlsx", COSTS, "console:head-114001"),
        ):
            await evidence.keep_file(session, eoi, name=name, data=data, by=by, now=now)
        await session.commit()
        refs = {hers.id: hers.ref, other.id: other.ref}

    subject = subject_access.Subject.parse(EMAIL)
    async with service.db.session() as session:
        held = await subject_access.export(session, subject, now=now)
    files = {f["name"]: f for f in held["files"]}
    assert sorted(files) == ["Letter from Ann Head.pdf", "joint governors minutes.docx", "library.png"]
    sent = files["Letter from Ann Head.pdf"]
    assert (sent["eoi"], sent["type"], sent["media_type"], sent["size"]) == (
        hers.ref,
        "PDF",
        "application/pdf",
        len(letter),
    )
    assert sent["sha256"] == hashlib.sha256(letter).hexdigest() and sent["sent_by"] == ann
    assert sent["sent_at"] == now.isoformat()
    assert base64.b64decode(sent["content_base64"]) == letter  # the file itself, not only its description
    assert base64.b64decode(files["library.png"]["content_base64"]) == PHOTO  # her EOI's, whoever sent it
    assert files["joint governors minutes.docx"]["eoi"] == other.ref  # one she sent to another EOI
    json.dumps(held)  # all of it writes out as JSON

    async with service.db.session() as session:  # without confirm: said, and nothing changed
        told = await subject_access.erase(session, subject, actor="console:dpo", now=now, confirm=False)
    assert told.counts["files"] == 3 and any("3 files" in line for line in told.lines)
    async with service.db.session() as session:
        assert len(list(await session.scalars(select(EvidenceFile.id)))) == 4

    async with service.db.session() as session:
        erased = await subject_access.erase(session, subject, actor="console:dpo", now=now, confirm=True)
    assert erased.counts["files"] == 3 and not erased.left
    async with service.db.session() as session:
        left = [(f.eoi_id, f.name, f.sent_by) for f in await session.scalars(select(EvidenceFile))]
        kept = await session.get(EOI, hers.id)
        why = {
            refs[e.eoi_id]: e.note
            for e in await session.scalars(select(AuditEntry).where(AuditEntry.action == "files erased"))
        }
    assert left == [(other.id, "costs.xlsx", "console:head-114001")]
    assert kept.answers["contact_email"] == "[erased]" and kept.status == "draft"  # the EOI is the school's
    assert why == {hers.ref: "2 files erased", other.ref: "1 file erased"}  # by count: no name, no file name
    assert await _mentions(service, [EMAIL, SLACK, "Ann Head"]) == []
