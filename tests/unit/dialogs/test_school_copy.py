"""A school's copy of what it sent: a PDF for its governors, every answer readable in it exactly as the review
showed it, whatever the head typed (curly quotes, £, accents, emoji, a 3,000-character vision, a word longer than a
line), with the reference, the date on the London clock and the files; shared in chat and, when email is on,
queued once to the EOI's contact email."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pypdf
from sqlalchemy import select

from bot.service import Service
from dialogs.replies import COPY, Reply
from dialogs.school_copy import file_name, printable, school_copy, send_school_copy
from storage.models import EOI, Notice, School

SUBMITTED = datetime(2026, 12, 7, 14, 5, tzinfo=UTC)  # winter: London is on UTC
VISION = " ".join(
    f"Pupils’ “voices” matter; sentence {n} costs £{n},250 at the café in Zürich, and Beyoncé agrees."
    for n in range(1, 40)
)[:3000]
ANSWERS = [
    ("Provision offered", "Resourced Provision"),
    ("Primary need", "ASD: Autistic Spectrum Disorder"),
    ("Vision", VISION),
    ("Headteacher’s note", "We’d say “yes” — straight away! Costs: £12,000 (est.) & 3 rooms <ground floor>."),
    ("Places", "12"),
    ("Contact email", "sam.patel@school.example"),
]
FILES = [("site-plan.pdf", "PDF", 1_300_000), ("governors’ minutes.docx", "Word document (DOCX)", 12_000)]


def text_of(pdf: bytes) -> str:
    """Every page's text, the lines a long answer wraps over joined again, the footers left out."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    pages = [re.sub(r"EOI-[\w-]+ · page \d+ of \d+", " ", page.extract_text()) for page in reader.pages]
    return " ".join(" ".join(pages).split())


def shown(text: str) -> str:
    return " ".join(text.split())


def copy(**changes: object) -> bytes:
    given: dict = {
        "school_name": "St Mary’s C of E Primary",
        "urn": "114000",
        "reference": "EOI-2026-0042",
        "submitted_at": SUBMITTED,
        "answers": ANSWERS,
        "files": FILES,
    }
    return school_copy(**{**given, **changes})


def test_every_answer_is_in_the_pdf_as_the_review_showed_it() -> None:
    pdf = copy()
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    assert len(VISION) == 3000
    for label, answer in ANSWERS:
        assert shown(label) in text and shown(answer) in text, label
    assert "Expression of interest EOI-2026-0042" in text
    assert "St Mary’s C of E Primary" in text and "URN 114000" in text
    assert "Submitted on 7 December 2026 at 14:05" in text and "Resubmitted" not in text
    for name, kind, _ in FILES:
        assert name in text and kind in text
    assert "1.3 MB" in text and "12 KB" in text


def test_a_long_answer_runs_over_pages_each_numbered() -> None:
    pdf = copy(answers=[(f"Question {n}", VISION) for n in range(1, 5)])
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    for n, page in enumerate(reader.pages, start=1):
        assert f"EOI-2026-0042 · page {n} of {len(reader.pages)}" in page.extract_text()
    assert text_of(pdf).count(shown(VISION)) == 4


def test_the_metadata_and_the_file_name_name_only_the_reference() -> None:
    reader = pypdf.PdfReader(io.BytesIO(copy()))
    assert reader.metadata is not None and reader.metadata.title == "EOI-2026-0042"
    assert file_name("EOI-2026-0042") == "EOI-2026-0042.pdf"
    assert file_name("EOI 2026/0042") == "EOI-2026-0042.pdf"  # never a path


def test_summer_time_is_the_london_clock_and_a_resubmission_says_so() -> None:
    text = text_of(copy(submitted_at=datetime(2027, 6, 1, 13, 5, tzinfo=UTC), resubmitted=True))
    assert "Resubmitted on 1 June 2027 at 14:05" in text and "replaces any copy from before" in text


def test_what_the_font_cannot_print_is_shown_not_dropped_and_never_crashes() -> None:
    typed = "Thanks 😀 from the 🇬🇧 team 👍🏽 ❤️ 中文 and a decomposed e\u0301"
    assert printable(typed) == (
        "Thanks [grinning face] from the [flag GB] team [thumbs up sign] [heavy black heart] \ufffd\ufffd "
        "and a decomposed é"
    )
    text = text_of(copy(answers=[("Vision", typed)]))
    assert "Thanks [grinning face] from the [flag GB] team" in text and "decomposed é" in text


def test_a_word_longer_than_a_line_is_broken_not_lost() -> None:
    word = "Supercalifragilistic" * 20  # 400 letters, no space
    text = text_of(copy(answers=[("Vision", f"Start {word} end")]))
    assert word in text.replace(" ", "")
    assert "Start" in text and "end" in text


def test_no_files_says_none() -> None:
    assert "Files sent with it None" in text_of(copy(files=[]))


def test_a_pdf_survives_a_queued_notice_as_bytes_and_a_text_file_stays_text() -> None:
    pdf = copy()
    stored = json.loads(json.dumps(Reply(text="Your copy", file=("EOI-2026-0042.pdf", pdf)).to_dict()))
    assert stored["file"]["name"] == "EOI-2026-0042.pdf" and "base64" in stored["file"]
    assert Reply.from_dict(stored).file == ("EOI-2026-0042.pdf", pdf)
    csv = Reply(text="Export", file=("eois.csv", "ref\nEOI-1\n")).to_dict()
    assert Reply.from_dict(json.loads(json.dumps(csv))).file == ("eois.csv", "ref\nEOI-1\n")
    # A text file that looks like base64 is still text: the form says which it is, not the content.
    looks = Reply(text="x", file=("a.csv", "JVBERi0=")).to_dict()
    assert Reply.from_dict(json.loads(json.dumps(looks))).file == ("a.csv", "JVBERi0=")
    # Queued before files could be bytes: a list, read as text.
    assert Reply.from_dict({"text": "old", "file": ["a.ics", "BEGIN:VCALENDAR"]}).file == ("a.ics", "BEGIN:VCALENDAR")


async def _submitted(service: Service) -> tuple[EOI, School]:
    async with service.db.session() as session:
        school = await session.get(School, "114000")
        assert school is not None
        eoi = EOI(
            ref="EOI-2627A-042",
            school_urn=school.urn,
            status="submitted",
            answers={"contact_email": "sam.patel@school.example"},
            created_at=SUBMITTED,
            updated_at=SUBMITTED,
            submitted_at=SUBMITTED,
        )
        session.add(eoi)
        await session.commit()
        return eoi, school


async def test_the_copy_is_queued_to_the_contact_email_when_email_is_on(service: Service) -> None:
    eoi, school = await _submitted(service)
    async with service.db.session() as session:
        reply = await send_school_copy(
            session, eoi=eoi, school=school, answers=ANSWERS, files=FILES, now=SUBMITTED, email_configured=True
        )
        await session.commit()
    name, pdf = reply.file or ("", b"")
    assert name == "EOI-2627A-042.pdf" and isinstance(pdf, bytes)
    assert shown(VISION) in text_of(pdf)
    assert reply.text.plain == (
        "Here is a copy of what you sent, for your governors: EOI-2627A-042.pdf. "
        "I've emailed it to sam.patel@school.example as well."
    )
    assert reply.private  # a file: only ever in the head's direct messages
    async with service.db.session() as session:
        (notice,) = await session.scalars(select(Notice).where(Notice.kind == "school copy"))
    assert notice.audience == "address" and notice.recipient == "email:sam.patel@school.example"
    assert notice.eoi_id == eoi.id and notice.school_urn == "114000"  # erased and retained with its EOI
    email = Reply.from_dict(notice.body)
    assert email.kind == COPY and email.file == ("EOI-2627A-042.pdf", pdf)
    assert "sent to Essex County Council on 7 December 2026 at 14:05" in email.text.plain


async def test_without_email_the_copy_is_only_shared_in_chat(service: Service) -> None:
    eoi, school = await _submitted(service)
    async with service.db.session() as session:
        reply = await send_school_copy(
            session, eoi=eoi, school=school, answers=ANSWERS, now=SUBMITTED, email_configured=False
        )
        await session.commit()
        assert not list(await session.scalars(select(Notice).where(Notice.kind == "school copy")))
    assert reply.text.plain == "Here is a copy of what you sent, for your governors: EOI-2627A-042.pdf"
