"""A school with no Slack or Teams destination hears by email: the window's announcement, its reminders and its
own EOI's news go to the register's address, in plain text and HTML, saying how to answer in chat, each once,
through a real SMTP server on loopback, including one that refuses and one that drops the connection."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import cli
from bot.announce import run_once
from bot.app import build_app, channel_summary
from bot.config import load_settings
from bot.service import Service
from dialogs.replies import Reply
from storage import people
from storage.models import Delivery, Notice, School, Window
from storage.windows import schools_in_scope
from tests.chat import complete_eoi, headteacher, officer
from tests.cli_db import use_test_database
from tests.conftest import make_settings, service_on_copy
from tests.fakes.recording_sender import RecordingSender
from tests.fakes.smtp_server import Inbox, smtp_server  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
FROM = "eoi-bot@essex.gov.uk"


def head(urn: str) -> str:
    return f"head{urn}@demo-school.example"  # the demo register's headteacher email


@pytest.fixture
async def mailing(test_db, clock, smtp_server) -> AsyncIterator[tuple[Service, Inbox]]:  # noqa: F811
    """The service as `eoi-bot announce` and `serve` wire it, with email on: the demo register names no chat
    channels, so every school is reached by email."""
    url, inbox = smtp_server
    db = await test_db.create(demo_at=clock.now())
    service = service_on_copy(make_settings(test_db.url, smtp_url=url, mail_from=FROM), clock, db)
    build_app(service)  # registers the enabled channels' senders, email among them
    service.dispatcher.backoff = 0.01  # retries a hundred times sooner than in production
    yield service, inbox
    await service.close()


async def _in_scope(service: Service) -> list[str]:
    async with service.db.session() as session:
        window = await session.scalar(select(Window))
        return [school.urn for school, _ in await schools_in_scope(session, window)]


async def _deliveries(service: Service, to: str) -> list[Delivery]:
    async with service.db.session() as session:
        return list(await session.scalars(select(Delivery).where(Delivery.destination == f"email:{to}")))


async def test_schools_with_no_chat_channel_hear_of_the_window_by_email_once_each(mailing, capsys):
    service, inbox = mailing
    in_scope = await _in_scope(service)
    await run_once(service)
    assert f"Delivered {len(in_scope)}, failed 0" in capsys.readouterr().out
    assert sorted(r.to[0] for r in inbox.received) == sorted(head(urn) for urn in in_scope)

    mail = inbox.to(head("114000"))[0]
    assert mail.mail_from == FROM and mail.message["From"] == FROM
    assert mail.message["Subject"] == "Autumn Term 1 2026/27: expressions of interest are open"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    text, page = mail.part("plain"), mail.part("html")
    assert "is in scope because of these priority needs" in text and "ASD: Autistic Spectrum Disorder" in text
    # How to answer: in chat, signed in with this address; the button becomes what to type.
    assert "To answer, in a message to the EOI bot type “start”." in text
    assert "sign in with this email address" in text and "Microsoft Teams" in text
    assert "*" not in text  # chat markup is not left in the plain text
    assert "<code>start</code>" in page and "<h2>Autumn Term 1 2026/27" in page

    # Running it again sends nothing more: the same once-only delivery records as chat messages.
    await run_once(service)
    assert len(inbox.received) == len(in_scope)
    (sent,) = await _deliveries(service, head("114000"))
    assert sent.status == "sent" and sent.attempts == 1 and sent.school_urn == "114000"


async def test_the_closing_reminders_go_by_email_too(mailing):
    service, inbox = mailing
    await run_once(service)
    async with service.db.session() as session:
        window = await session.scalar(select(Window))
    service.clock.set(window.closes_at - timedelta(days=6))
    await run_once(service)
    subjects = [r.message["Subject"] for r in inbox.to(head("114000"))]
    assert subjects == [
        "Autumn Term 1 2026/27: expressions of interest are open",
        "Autumn Term 1 2026/27 closes in 7 days",
    ]
    assert "type “start”" in inbox.to(head("114000"))[1].part("plain")


async def test_a_school_reached_in_chat_gets_no_email(mailing):
    service, inbox = mailing
    chat = RecordingSender()
    service.senders.append(chat)
    async with service.db.session() as session:
        school = await session.get(School, "114000")
        await people.link(session, actor="t", platform="fake", user_id="U114", school=school, now=service.clock.now())
        await session.commit()
    await run_once(service)
    assert [d for d, _ in chat.received] == ["fake:U114"]
    assert inbox.to(head("114000")) == [] and inbox.to(head("114001"))


async def test_a_school_hears_its_eoi_news_by_email_too(mailing):
    service, inbox = mailing
    await run_once(service)
    staff = await headteacher(service, "114000")  # a console user: the console sends nothing unprompted
    await complete_eoi(staff)
    ref = re.search(r"EOI-2627A-\d+", staff.text).group(0)
    await officer(service).say(f"shortlist {ref}")
    await run_once(service)
    subjects = [r.message["Subject"] for r in inbox.to(head("114000"))]
    assert len(subjects) == 2 and "shortlisted" in " ".join(subjects[1:]).casefold(), subjects


async def test_an_address_the_server_refuses_fails_at_once_and_officers_are_told(mailing):
    service, inbox = mailing
    inbox.refuse[head("114000")] = "550 5.1.1 <head114000@demo-school.example>: mailbox unavailable"
    await run_once(service)
    (refused,) = await _deliveries(service, head("114000"))
    assert refused.status == "failed" and refused.attempts == 1  # 5xx: permanent, as a chat channel_not_found
    assert "550" in refused.last_error and "mailbox unavailable" in refused.last_error
    async with service.db.session() as session:
        told = await session.scalar(select(Notice).where(Notice.kind == "delivery failed"))
    assert "school 114000" in Reply.from_dict(told.body).text.plain and "550" in Reply.from_dict(told.body).text.plain
    assert inbox.to(head("114001"))  # the others went


async def test_a_server_that_says_try_later_is_tried_again_then_given_up_on(mailing):
    service, inbox = mailing
    inbox.refuse[head("114000")] = "451 4.3.0 try again later"
    await run_once(service)
    (busy,) = await _deliveries(service, head("114000"))
    assert busy.status == "failed" and busy.attempts == service.dispatcher.max_attempts  # retried as chat is
    assert "451" in busy.last_error


async def test_a_connection_dropped_mid_message_is_sent_again_and_arrives_once(mailing):
    service, inbox = mailing
    inbox.drops[head("114000")] = 1
    await run_once(service)
    assert inbox.dropped == 1
    (mail,) = inbox.to(head("114000"))
    (delivery,) = await _deliveries(service, head("114000"))
    assert delivery.status == "sent" and delivery.attempts == 2
    assert mail.message["Message-ID"].endswith("@essex.gov.uk>")


async def test_a_register_email_that_is_not_an_address_counts_as_no_destination(mailing):
    service, inbox = mailing
    async with service.db.session() as session:
        school = await session.get(School, "114000")
        school.headteacher_email = "head114000@demo-school.example\nBcc: everyone@example.org"
        await session.commit()
    preview = await officer(service).say("window preview")
    assert "has no working destination" in preview and "(114000)" in preview
    await run_once(service)
    assert not [r for r in inbox.received if "everyone@example.org" in r.to]


def test_email_settings_are_checked_when_the_service_starts():
    with pytest.raises(ValueError, match="EOI_MAIL_FROM"):
        load_settings({"SMTP_URL": "smtp://mail.example.org"})
    with pytest.raises(ValueError, match="SMTP_URL should look like"):
        load_settings({"SMTP_URL": "http://mail.example.org", "EOI_MAIL_FROM": FROM})
    settings = load_settings({"SMTP_URL": "smtps://eoi:s3cret@mail.example.org", "EOI_MAIL_FROM": FROM})
    banner = "\n".join(channel_summary(settings))
    assert "Email: on via smtps://eoi:***@mail.example.org:465" in banner and "s3cret" not in banner
    assert "Email: off" in "\n".join(channel_summary(load_settings({})))


def test_an_officer_in_the_terminal_sees_who_email_reaches(tmp_path, monkeypatch, capsys):
    """`eoi-bot chat` registers the enabled channels as `serve` does, so the preview is true there too."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'eoi-bot.db'}")
    monkeypatch.setenv("EOI_NOW", "2026-11-30T10:00:00+00:00")
    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("EOI_MAIL_FROM", FROM)
    assert cli.main(["seed", "--demo"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("window preview\n"))
    assert cli.main(["chat", "--as", "officer"]) == 0
    shown = capsys.readouterr().out
    assert "schools in scope can be reached" in shown and f"email to {head('114000')}" in shown
    monkeypatch.delenv("SMTP_URL")
    monkeypatch.setattr(sys, "stdin", io.StringIO("window preview\n"))
    assert cli.main(["chat", "--as", "officer"]) == 0
    assert "have no working destination" in capsys.readouterr().out


async def test_a_headteacher_erased_takes_the_emails_to_her_address_with_her(mailing, test_db, monkeypatch, capsys):
    """Subject access and erasure find the emails sent to a headteacher's address (and the officers' report of one
    that failed, which names it), as they find messages to her chat identities."""
    service, inbox = mailing
    inbox.refuse[head("114000")] = "550 5.1.1 mailbox unavailable"
    await run_once(service)
    use_test_database(monkeypatch, test_db, service.clock.now())
    capsys.readouterr()
    assert await asyncio.to_thread(cli.main, ["person", "export", head("114000")]) == 0
    held = json.loads(capsys.readouterr().out)
    assert [m["destination"] for m in held["messages_to_them"]] == [f"email:{head('114000')}"]
    assert await asyncio.to_thread(cli.main, ["person", "erase", head("114000"), "--confirm"]) == 0
    assert "nothing else in the database mentions them" in capsys.readouterr().out
    assert await _deliveries(service, head("114000")) == []


def _calendar_parts(received) -> list[tuple[str, str, str]]:
    """Each text/calendar part of a received email: (its method parameter, the METHOD inside, a filename)."""
    from icalendar import Calendar

    found = []
    for part in received.message.walk():
        if part.get_content_type() == "text/calendar":
            content = part.get_content()
            content = content.decode() if isinstance(content, bytes) else content
            inside = str(Calendar.from_ical(content).get("method"))
            found.append((part.get_param("method") or "", inside, part.get_filename() or ""))
    return found


async def test_a_school_reached_only_by_email_gets_the_calendar_invitation_and_its_cancellation(mailing):
    """The email says "open it to add it to your calendar": it now carries it, as iTIP's text/calendar REQUEST
    (and as a file), and the cancellation as a CANCEL of the same event."""
    service, inbox = mailing
    await run_once(service)
    staff = await headteacher(service, "114000")
    ref = re.search(r"EOI-2627A-\d+", await complete_eoi(staff)).group(0)
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    assert "Scheduled" in await desk.say(f"schedule {ref} Tuesday at 2pm at County Hall")
    await run_once(service)
    [invitation] = [r for r in inbox.to(head("114000")) if _calendar_parts(r)]
    assert _calendar_parts(invitation) == [
        ("REQUEST", "REQUEST", ""),
        ("", "REQUEST", f"discussion-{ref}.ics"),
    ]
    assert "open it to add it to your calendar" in invitation.message.get_body(("plain",)).get_content()

    await desk.say(f"cancel discussion {ref} The panel is unwell")
    await run_once(service)
    cancelled = [r for r in inbox.to(head("114000")) if _calendar_parts(r)][1:]
    assert [_calendar_parts(r) for r in cancelled] == [
        [("CANCEL", "CANCEL", ""), ("", "CANCEL", f"discussion-{ref}.ics")]
    ]
