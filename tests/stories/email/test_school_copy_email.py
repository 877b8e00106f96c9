"""A head submits and their school's copy reaches the contact email the EOI gives (not the register's address) as
a PDF attachment the governors can open, through a real SMTP server on loopback, once, and recorded like every
other delivery."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import pypdf
import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.service import Service
from dialogs.school_copy import send_school_copy
from storage.models import EOI, Delivery, School
from tests.chat import LONG_VISION, complete_eoi, headteacher
from tests.conftest import make_settings, service_on_copy
from tests.fakes.smtp_server import Inbox, smtp_server  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
FROM = "eoi-bot@essex.gov.uk"
CONTACT = "sam.patel@school.example"  # what tests.chat's answers give as the contact email
REGISTER = "head114000@demo-school.example"  # the demo register's address for the school
ANSWERS = [("Vision", "Every child’s “best day” — £2,000 of kit and a café-style quiet room."), ("Places", "12")]


@pytest.fixture
async def mailing(test_db, clock, smtp_server) -> AsyncIterator[tuple[Service, Inbox]]:  # noqa: F811
    url, inbox = smtp_server
    db = await test_db.create(demo_at=clock.now())
    service = service_on_copy(make_settings(test_db.url, smtp_url=url, mail_from=FROM), clock, db)
    build_app(service)  # registers the email sender, as `eoi-bot serve` does with SMTP_URL set
    service.dispatcher.backoff = 0.01
    yield service, inbox
    await service.close()


async def _send_copy(service: Service, *, email_configured: bool) -> bytes:
    """What the submit path does once the EOI is submitted, in a turn's transaction."""
    head = await headteacher(service, "114000")
    await complete_eoi(head)
    ref = re.search(r"EOI-2627A-\d+", head.text)
    assert ref is not None
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.ref == ref.group(0)))
        school = await session.get(School, "114000")
        assert eoi is not None and school is not None
        reply = await send_school_copy(
            session,
            eoi=eoi,
            school=school,
            answers=ANSWERS,
            files=[("site-plan.pdf", "PDF", 250_000)],
            now=service.clock.now(),
            email_configured=email_configured,
        )
        await session.commit()
    assert reply.file is not None and isinstance(reply.file[1], bytes)
    return reply.file[1]


async def _deliver(service: Service) -> None:
    await service.dispatcher.plan_notices()
    await service.dispatcher.run_due()


async def _submit(service: Service) -> bytes:
    """A head submits the demo school's EOI in chat: the copy comes back as a file in the same turn."""
    head = await headteacher(service, "114000")
    await complete_eoi(head)
    (copy,) = [r for r in head.replies if r.file]
    assert isinstance(copy.file[1], bytes), head.text
    ref = re.search(r"EOI-2627A-\d+", head.text)
    assert ref is not None and copy.file[0] == f"{ref.group(0)}.pdf"
    return copy.file[1]


async def test_a_head_submits_and_the_copy_reaches_the_contact_email_as_a_pdf_once(mailing):
    service, inbox = mailing
    shared = await _submit(service)
    await _deliver(service)
    (mail,) = inbox.to(CONTACT)
    assert not [r for r in inbox.to(REGISTER) if r.message["Subject"] == mail.message["Subject"]]
    assert mail.message["Subject"].startswith("Your expression of interest EOI-2627A-")
    (attached,) = list(mail.message.iter_attachments())
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_filename() == f"{mail.message['Subject'].rsplit(' ', 1)[-1]}.pdf"
    pdf = attached.get_content()
    assert pdf == shared  # the same copy as in chat
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    assert LONG_VISION in text and "Sam Patel" in text and "All at once" in text
    # The email says what it is, not that the school has no chat channel.
    body = mail.part("plain")
    assert "a copy of your school's expression of interest" in body and "no Slack or Teams channel" not in body
    assert "for your records and your governors" in body

    # Sent once, recorded like every other delivery: planning and sending again sends nothing more.
    await _deliver(service)
    assert len(inbox.to(CONTACT)) == 1
    async with service.db.session() as session:
        (sent,) = await session.scalars(select(Delivery).where(Delivery.destination == f"email:{CONTACT}"))
    assert sent.status == "sent" and sent.attempts == 1 and sent.school_urn == "114000"
    assert sent.kind == "school copy"


async def test_a_refused_copy_is_a_failed_delivery_officers_hear_of(mailing):
    service, inbox = mailing
    inbox.refuse[CONTACT] = "550 5.1.1 <sam.patel@school.example>: mailbox unavailable"
    await _submit(service)
    await _deliver(service)
    async with service.db.session() as session:
        (refused,) = await session.scalars(select(Delivery).where(Delivery.destination == f"email:{CONTACT}"))
    assert refused.status == "failed" and "550" in refused.last_error


async def test_with_email_not_configured_the_copy_is_only_in_chat(test_db, clock):
    db = await test_db.create(demo_at=clock.now())
    service = service_on_copy(make_settings(test_db.url), clock, db)  # no SMTP_URL
    try:
        head = await headteacher(service, "114000")
        await complete_eoi(head)
        assert "Here is a copy of what you sent" in head.text and "emailed" not in head.text
        async with service.db.session() as session:
            assert not list(await session.scalars(select(Delivery).where(Delivery.destination.like("email:%"))))
    finally:
        await service.close()


async def test_a_copy_queued_when_no_email_sender_is_attached_reaches_nobody_and_fails_nothing(test_db, clock):
    db = await test_db.create(demo_at=clock.now())
    service = service_on_copy(make_settings(test_db.url), clock, db)  # no SMTP_URL: no email sender
    try:
        await _send_copy(service, email_configured=True)  # even if the caller thought it was on
        await _deliver(service)
        async with service.db.session() as session:
            assert not list(await session.scalars(select(Delivery).where(Delivery.destination.like("email:%"))))
    finally:
        await service.close()
