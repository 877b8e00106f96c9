"""A school attaches evidence to its EOI (a site plan, photos of the space, minutes, a letter of support): what a
file is comes from its bytes, not its name; at most 20 MB each and 5 per EOI; kept privately in the database with
its SHA-256, and read back exactly. A refused file leaves nothing behind."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from datetime import timedelta

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import delete, func, select
from sqlalchemy.exc import InvalidRequestError

from storage import eois, evidence
from storage.evidence import MAX_FILE_BYTES, MAX_FILES, FileRefused
from storage.models import EOI, AuditEntry, EvidenceFile, School
from tests.conftest import NOW
from tests.real_files import docx, executable, jpeg, office_package, pdf, plain_zip, png, xlsx

HEAD = "slack:U0HEAD114000"


SITE_PLAN, PHOTO, CORRIDOR, MINUTES, COSTS = pdf(), png(), jpeg(), docx(), xlsx()


# --------------------------------------------------------------------------------------------- what it is
def test_what_is_accepted_is_said_once_from_the_table_and_the_limits() -> None:
    assert evidence.accepted_words() == "PDF, Word (DOCX), Excel (XLSX), PNG or JPEG, at most 20 MB each, up to 5 files"
    assert [(k.code, k.label, k.extension) for k in evidence.ACCEPTED] == [
        ("pdf", "PDF", ".pdf"),
        ("docx", "Word document (DOCX)", ".docx"),
        ("xlsx", "Excel workbook (XLSX)", ".xlsx"),
        ("png", "PNG image", ".png"),
        ("jpeg", "JPEG image", ".jpg"),
    ]
    assert evidence.kind_named("png").media_type == "image/png"
    assert (MAX_FILE_BYTES, MAX_FILES) == (20 * 1024 * 1024, 5)
    # Sizes read rounded up: a file one byte over the limit never reads as within it.
    assert [evidence.size_words(n) for n in (1, 830, 12_000, MAX_FILE_BYTES, MAX_FILE_BYTES + 1)] == [
        "1 byte",
        "830 bytes",
        "12 KB",
        "20 MB",
        "20.1 MB",
    ]


def test_the_files_built_here_are_real_files() -> None:
    """So what is accepted below is accepted as the files people send, not as bytes that only look right."""
    assert "64 square metres" in PdfReader(io.BytesIO(SITE_PLAN)).pages[0].extract_text()
    assert len(pdf(pad_to=50_000)) == 50_000 and len(PdfReader(io.BytesIO(pdf(pad_to=50_000))).pages) == 1
    for image, size in ((PHOTO, (3, 2)), (CORRIDOR, (16, 8))):
        opened = Image.open(io.BytesIO(image))
        opened.load()
        assert opened.size == size
    for package in (MINUTES, COSTS):
        assert zipfile.ZipFile(io.BytesIO(package)).testzip() is None


def test_a_file_is_known_by_its_content_never_by_its_name() -> None:
    found = {
        name: evidence.kind_of(data)
        for name, data in {
            "site plan": SITE_PLAN,
            "photo": PHOTO,
            "corridor": CORRIDOR,
            "minutes": MINUTES,
            "costs": COSTS,
        }.items()
    }
    assert {name: kind.code for name, kind in found.items() if kind} == {
        "site plan": "pdf",
        "photo": "png",
        "corridor": "jpeg",
        "minutes": "docx",
        "costs": "xlsx",
    }
    assert evidence.kind_of(executable()) is None  # whatever it is called: plan.pdf below
    assert evidence.kind_of(b"") is None
    assert evidence.kind_of(plain_zip()) is None
    assert evidence.kind_of(b"Site plan to follow\n") is None
    assert evidence.kind_of(b"PK\x03\x04" + b"\x00" * 100) is None  # a ZIP's first bytes, and nothing after
    assert evidence.kind_of(MINUTES[: len(MINUTES) // 2]) is None  # cut short in the download
    # A Word document with macros (a .docm renamed .docx) is not accepted.
    macros = office_package(
        {"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>", "word/vbaProject.bin": "x"}
    )
    assert evidence.kind_of(macros) is None
    # A package that claims both a document and a workbook is neither.
    both = office_package({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>", "xl/workbook.xml": "<x/>"})
    assert evidence.kind_of(both) is None
    # An archive whose directory claims more parts than any document has is not opened further.
    many = bytearray(MINUTES)
    end = many.rfind(b"PK\x05\x06")
    many[end + 10 : end + 12] = struct.pack("<H", 0xFFFF)
    assert evidence.kind_of(bytes(many)) is None
    long = bytearray(MINUTES)
    long[end + 12 : end + 16] = struct.pack("<I", 2 * 1024 * 1024)  # a directory longer than any document's
    assert evidence.kind_of(bytes(long)) is None


def test_a_name_is_kept_as_sent_but_only_its_last_part_and_what_a_database_stores() -> None:
    assert evidence.stored_name("C:\\Users\\head\\Desktop\\Site plan (v2).pdf") == "Site plan (v2).pdf"
    assert evidence.stored_name("../../etc/passwd") == "passwd"
    assert evidence.stored_name("minutes\x00\x1b.docx") == "minutes.docx"
    assert evidence.stored_name("  ") == "file"
    long = evidence.stored_name("governors " * 40 + ".docx")
    assert len(long) == 255 and long.endswith(".docx")


# ------------------------------------------------------------------------------------------------ storing
async def _a_draft(db, urn: str = "114000") -> int:
    async with db.session() as session:
        school = await session.get(School, urn)
        eoi = await eois.start_draft(session, school, actor=HEAD, now=NOW, offer="resourced")
        await session.commit()
        return eoi.id


async def _keep(db, eoi_id: int, name: str, data: bytes, *, at=NOW, by: str = HEAD) -> EvidenceFile:
    async with db.session() as session:
        eoi = await eois.by_id(session, eoi_id)
        kept = await evidence.keep_file(session, eoi, name=name, data=data, by=by, now=at)
        await session.commit()
        return kept


async def _refused(db, eoi_id: int, name: str, data: bytes) -> FileRefused:
    """Send a file that must be refused: the refusal, having checked that nothing was written (no row, no audit
    entry) and that the turn's transaction can still commit."""
    async with db.session() as session:
        before = await _held(session, eoi_id)
        eoi = await eois.by_id(session, eoi_id)
        with pytest.raises(FileRefused) as refused:
            await evidence.keep_file(session, eoi, name=name, data=data, by=HEAD, now=NOW)
        await session.commit()
    async with db.session() as session:
        assert await _held(session, eoi_id) == before, f"{name} left something behind"
    return refused.value


async def _held(session, eoi_id: int) -> tuple[int, int]:
    files = await session.scalar(select(func.count()).select_from(EvidenceFile).where(EvidenceFile.eoi_id == eoi_id))
    entries = await session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.eoi_id == eoi_id))
    return files, entries


async def test_a_head_attaches_a_site_plan_photos_minutes_and_costs_and_each_reads_back_exactly(test_db) -> None:
    db = await test_db.create(demo_at=NOW)
    try:
        eoi_id = await _a_draft(db)
        sent = [
            ("Site plan.pdf", SITE_PLAN),
            ("library.png", PHOTO),
            ("IMG_2041.JPG", CORRIDOR),
            ("Governors minutes March.docx", MINUTES),
            ("costs.xlsx", COSTS),
        ]
        for minute, (name, data) in enumerate(sent):
            await _keep(db, eoi_id, name, data, at=NOW + timedelta(minutes=minute))

        async with db.session() as session:
            files = await evidence.files_of(session, eoi_id)
            # Listed in the order sent, with what people read: name, type, size; the bytes not loaded.
            assert [(f.name, evidence.kind_label(f.kind), f.size) for f in files] == [
                ("Site plan.pdf", "PDF", len(SITE_PLAN)),
                ("library.png", "PNG image", len(PHOTO)),
                ("IMG_2041.JPG", "JPEG image", len(CORRIDOR)),
                ("Governors minutes March.docx", "Word document (DOCX)", len(MINUTES)),
                ("costs.xlsx", "Excel workbook (XLSX)", len(COSTS)),
            ]
            with pytest.raises(InvalidRequestError):
                files[0].data  # noqa: B018  (reading it is the test: the list never loaded it)
            assert [f.sha256 for f in files] == [hashlib.sha256(data).hexdigest() for _, data in sent]
            assert all(f.sent_by == HEAD and f.eoi_id == eoi_id for f in files)
            assert files[0].sent_at == NOW and files[0].sent_at.tzinfo is not None
            for file, (_, data) in zip(files, sent, strict=True):
                assert await evidence.file_data(session, file.id) == data
            history = [
                (e.actor, e.action, e.note)
                for e in await session.scalars(
                    select(AuditEntry).where(AuditEntry.action == "file attached").order_by(AuditEntry.id)
                )
            ]
        assert [actor for actor, _, _ in history] == [HEAD] * 5
        assert history[0][2].startswith(f"Site plan.pdf (PDF, {evidence.size_words(len(SITE_PLAN))}, SHA-256 ")
        assert hashlib.sha256(SITE_PLAN).hexdigest()[:12] in history[0][2]

        async with db.session() as session:  # asked for, the bytes come with the list
            loaded = await evidence.files_of(session, eoi_id, with_data=True)
            assert [f.data for f in loaded] == [data for _, data in sent]
            assert await evidence.file_data(session, 10_000) is None  # a file not held
    finally:
        await db.dispose()


async def test_what_is_refused_is_refused_with_its_reason_and_nothing_is_stored(test_db) -> None:
    db = await test_db.create(demo_at=NOW)
    try:
        eoi_id = await _a_draft(db)

        # A program renamed plan.pdf: known by its content, not its name.
        refused = await _refused(db, eoi_id, "plan.pdf", executable())
        assert (refused.reason, refused.name) == ("not_accepted", "plan.pdf")
        assert (await _refused(db, eoi_id, "photos.zip", plain_zip())).reason == "not_accepted"
        assert (await _refused(db, eoi_id, "blank.pdf", b"")).reason == "empty"
        # A real PDF one byte over 20 MB; exactly 20 MB is accepted.
        too_big = await _refused(db, eoi_id, "survey.pdf", pdf(pad_to=MAX_FILE_BYTES + 1))
        assert (too_big.reason, too_big.size) == ("too_big", MAX_FILE_BYTES + 1)
        whole = await _keep(db, eoi_id, "survey.pdf", pdf(pad_to=MAX_FILE_BYTES))
        assert whole.size == MAX_FILE_BYTES

        # The same file again, under another name: already sent, and which file it is.
        await _keep(db, eoi_id, "Site plan.pdf", SITE_PLAN)
        again = await _refused(db, eoi_id, "site-plan-copy.pdf", SITE_PLAN)
        assert again.reason == "already_sent" and again.same_as.name == "Site plan.pdf"

        # Five files at most: the sixth is refused, whatever it is.
        for name, data in (("library.png", PHOTO), ("corridor.jpg", CORRIDOR), ("minutes.docx", MINUTES)):
            await _keep(db, eoi_id, name, data)
        assert (await _refused(db, eoi_id, "costs.xlsx", COSTS)).reason == "too_many"
        async with db.session() as session:
            assert len(await evidence.files_of(session, eoi_id)) == MAX_FILES

        # Another EOI has its own five, and may hold the same bytes.
        other = await _a_draft(db, "114001")
        assert (await _keep(db, other, "Site plan.pdf", SITE_PLAN)).sha256 == hashlib.sha256(SITE_PLAN).hexdigest()
    finally:
        await db.dispose()


async def test_a_file_taken_off_the_eoi_is_gone_audited_and_may_be_sent_again(test_db) -> None:
    db = await test_db.create(demo_at=NOW)
    try:
        eoi_id = await _a_draft(db)
        wrong = await _keep(db, eoi_id, "minutes (old).docx", MINUTES)
        await _keep(db, eoi_id, "library.png", PHOTO)
        async with db.session() as session:
            [file, _] = await evidence.files_of(session, eoi_id)
            await evidence.remove_file(session, file, by=HEAD, now=NOW + timedelta(minutes=5))
            await session.commit()
        async with db.session() as session:
            assert [f.name for f in await evidence.files_of(session, eoi_id)] == ["library.png"]
            assert await evidence.file_data(session, wrong.id) is None
            removed = await session.scalar(select(AuditEntry).where(AuditEntry.action == "file removed"))
        assert (removed.actor, removed.eoi_id) == (HEAD, eoi_id)
        assert removed.note.startswith("minutes (old).docx (Word document (DOCX), ")
        assert (await _keep(db, eoi_id, "minutes.docx", MINUTES)).name == "minutes.docx"
    finally:
        await db.dispose()


async def test_a_file_never_outlives_its_eoi(test_db) -> None:
    """The foreign key cascades on both databases (SQLite enforces it: foreign_keys=ON), so even a path that
    deletes an EOI without knowing of files leaves none behind."""
    db = await test_db.create(demo_at=NOW)
    try:
        eoi_id = await _a_draft(db)
        await _keep(db, eoi_id, "Site plan.pdf", SITE_PLAN)
        async with db.session() as session:
            await session.execute(delete(AuditEntry).where(AuditEntry.eoi_id == eoi_id))
            await session.execute(delete(EOI).where(EOI.id == eoi_id))
            await session.commit()
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(EvidenceFile)) == 0
    finally:
        await db.dispose()
