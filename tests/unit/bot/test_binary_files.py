"""A reply's file may be bytes (a school's PDF copy of its EOI) as well as text (a CSV, an .ics): every renderer
sends bytes as bytes, with the right type, and none ever shows them as text."""

from __future__ import annotations

import io
import json
import os
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from bot import slack_blocks as kit
from bot import teams_cards
from bot.config import SmtpServer
from bot.console import Console
from bot.email_sender import EmailSender
from bot.service import Service
from bot.teams_channel import TeamsChannel, remade_on_allow
from dialogs.replies import COPY, Reply
from dialogs.rich import rich
from dialogs.turns import Speaker
from tests.webchat.render import render

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n\x00\xff binary \x80 tail\n%%EOF\n"
COPY_REPLY = Reply(text="Here is a copy of what you sent, for your governors: EOI-2627A-001.pdf", file=("x.pdf", PDF))


def email_sender() -> EmailSender:
    return EmailSender(SmtpServer.parse("smtp://127.0.0.1:2525"), "eoi-bot@essex.gov.uk", join=rich("Join us."))


def test_an_email_attaches_a_pdf_as_application_pdf_byte_for_byte() -> None:
    reply = Reply(text="Your copy.", kind=COPY, title="Your expression of interest EOI-2627A-001", file=("a.pdf", PDF))
    sent = message_from_bytes(
        email_sender().message("sam@school.example", reply, key="k").as_bytes(), policy=policy.default
    )
    (attached,) = list(sent.iter_attachments())  # type: ignore[attr-defined]
    assert attached.get_content_type() == "application/pdf" and attached.get_filename() == "a.pdf"
    assert attached.get_content() == PDF
    # A copy's email says it is a copy, not that the school has no chat channel.
    plain = sent.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
    assert "a copy of your school's expression of interest" in plain and "Join us." not in plain


def test_an_emailed_csv_and_calendar_file_keep_their_text_types() -> None:
    sender = email_sender()
    csv = sender.message("a@b.example", Reply(text="Export", file=("e.csv", "ref\n")), key="k")
    (attached,) = list(csv.iter_attachments())
    assert attached.get_content_type() == "text/csv" and attached.get_content() == "ref\n"
    assert "Join us." in csv.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    invite = sender.message("a@b.example", Reply(text="Invite", file=("d.ics", ics)), key="k")
    assert [p.get_content_type() for p in invite.iter_attachments()] == ["text/calendar"]


def test_slack_never_shows_bytes_in_a_message() -> None:
    fallback, blocks = kit.render(COPY_REPLY)
    shown = " ".join(str(b) for b in blocks) + fallback
    assert "`x.pdf` could not be attached to this message." in shown
    assert "PDF-1.4" not in shown and "binary" not in shown


def test_teams_never_shows_bytes_and_offers_consent_only_for_a_file_a_command_makes_again() -> None:
    rendered = teams_cards.render(COPY_REPLY)
    assert "**x.pdf** could not be attached" in rendered["text"] and "PDF-1.4" not in rendered["text"]
    # The consent card's size is the bytes' own.
    consent = teams_cards.file_consent(COPY_REPLY, "export")
    assert consent["attachments"][0]["content"]["sizeInBytes"] == len(PDF)
    # Allowing a file runs its command again: `export` may, `submit` (which makes the PDF copy) never.
    assert remade_on_allow("export") and remade_on_allow("export window=2627A")
    assert not remade_on_allow("submit") and not remade_on_allow("resubmit")
    in_personal_chat = TeamsChannel._render(COPY_REPLY, "submit", personal=True, in_teams=True)
    assert not any(a["contentType"] == teams_cards.FILE_CONSENT_TYPE for a in in_personal_chat.get("attachments", []))
    assert "could not be attached" in in_personal_chat["text"]


async def test_the_console_saves_a_pdf_as_bytes(service: Service, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    Console(service, Speaker("console", "head"), school=None, out=out).show([COPY_REPLY])
    assert (tmp_path / "x.pdf").read_bytes() == PDF
    assert os.stat(tmp_path / "x.pdf").st_mode & 0o777 == 0o600  # personal data: its owner's only
    assert "(saved to x.pdf)" in out.getvalue() and "PDF-1.4" not in out.getvalue()


@pytest.mark.parametrize("content", [PDF, "ref,urn\n"])
def test_the_webchat_gives_a_file_as_json(content: str | bytes) -> None:
    rendered = json.loads(json.dumps(render(Reply(text="File", file=("f", content)))))
    assert rendered["file"]["name"] == "f"
    assert ("base64" in rendered["file"]) == isinstance(content, bytes)
