"""Files a school sends as evidence with its EOI (a site plan, photos of the space, minutes, a letter of support).

The rule for what is accepted is this table and these limits: channels read MAX_FILE_BYTES to refuse a file
before fetching it, the dialog words its refusals from ACCEPTED (`accepted_words`), and storing checks all of it
again. What a file is comes from its content, never its name: an executable renamed plan.pdf is refused.

A file is stored whole or not at all: every check runs before anything is written, and the row (bytes, SHA-256
and all) is one INSERT in the turn's transaction, audited with it.
"""

from __future__ import annotations

import hashlib
import io
import math
import struct
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from storage import audit
from storage.lifecycle import Refused
from storage.models import EOI, EvidenceFile
from storage.stored_text import CONTROL, SURROGATE

MAX_FILE_BYTES = 20 * 1024 * 1024  # 20 MB, each
MAX_FILES = 5  # per EOI
NAME_LENGTH = 255  # evidence_files.name

ZIP = b"PK\x03\x04"  # a local file header: how every DOCX and XLSX begins
CONTENT_TYPES = "[Content_Types].xml"  # every Office Open XML package has it
MACROS = "vbaproject.bin"  # a macro-enabled document (.docm, .xlsm) renamed .docx or .xlsx: not accepted
# An Office document has tens of parts, a big one hundreds; an archive claiming more, or a directory of them
# longer than this, is not one we read further (zipfile builds an object for every entry in the directory).
MAX_PARTS = 5000
MAX_DIRECTORY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FileKind:
    code: str  # stored in evidence_files.kind
    label: str  # what people read beside a file: "Word document (DOCX)"
    short: str  # in the sentence that says what is accepted: "Word (DOCX)"
    media_type: str  # sent with the file when an officer fetches it
    extension: str  # its usual name ending (a fetched copy whose name has none gets it)
    starts: bytes  # the bytes it begins with
    part: str = ""  # for an Office Open XML package (a ZIP): the part only this kind has


ACCEPTED: tuple[FileKind, ...] = (
    FileKind("pdf", "PDF", "PDF", "application/pdf", ".pdf", b"%PDF-"),
    FileKind(
        "docx",
        "Word document (DOCX)",
        "Word (DOCX)",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
        ZIP,
        "word/document.xml",
    ),
    FileKind(
        "xlsx",
        "Excel workbook (XLSX)",
        "Excel (XLSX)",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".xlsx",
        ZIP,
        "xl/workbook.xml",
    ),
    FileKind("png", "PNG image", "PNG", "image/png", ".png", b"\x89PNG\r\n\x1a\n"),
    FileKind("jpeg", "JPEG image", "JPEG", "image/jpeg", ".jpg", b"\xff\xd8\xff"),
)
BY_CODE = {kind.code: kind for kind in ACCEPTED}

Reason = Literal["not_accepted", "too_big", "too_many", "empty", "already_sent"]
NOT_ACCEPTED: Reason = "not_accepted"  # its content is none of ACCEPTED (whatever its name says)
TOO_BIG: Reason = "too_big"  # over MAX_FILE_BYTES
TOO_MANY: Reason = "too_many"  # the EOI has MAX_FILES already
EMPTY: Reason = "empty"  # no bytes at all
ALREADY_SENT: Reason = "already_sent"  # the same bytes (SHA-256) are attached to this EOI already


class FileRefused(Refused):
    """A file not stored, and why; nothing of it was written. The dialog words it (with `accepted_words`)."""

    def __init__(self, reason: Reason, name: str, *, size: int, same_as: EvidenceFile | None = None) -> None:
        super().__init__(reason)  # never the name: a message may be logged, and a name can say who someone is
        self.reason: Reason = reason
        self.name = name  # as it would have been stored
        self.size = size  # its bytes
        self.same_as = same_as  # already_sent: the file attached before with these bytes (its name may differ)


# ------------------------------------------------------------------------------------------ what it is
def kind_of(data: bytes) -> FileKind | None:
    """What the bytes are, by their content alone, or None when they are nothing accepted."""
    for kind in ACCEPTED:
        if not kind.part and data.startswith(kind.starts):
            return kind
    packaged = [kind for kind in ACCEPTED if kind.part and data.startswith(kind.starts)]
    if not packaged:
        return None
    parts = _package_parts(data)
    found = [kind for kind in packaged if kind.part in parts]
    return found[0] if len(found) == 1 else None  # a package that is both, or neither, is not one we know


def _package_parts(data: bytes) -> frozenset[str]:
    """The part names of an Office Open XML package without macros; empty for anything else. Only the ZIP's
    directory is read, never a part's content: a ZIP bomb is never expanded."""
    declared = _directory_declared(data)
    # ZIP64 declares 0xFFFF entries here: no Office file under 20 MB needs it.
    if declared is None or declared[0] > MAX_PARTS or declared[1] > MAX_DIRECTORY_BYTES:
        return frozenset()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = frozenset(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error):
        return frozenset()  # cut short, damaged or odd: not a document we can call a DOCX or XLSX
    if CONTENT_TYPES not in names or any(name.rsplit("/", 1)[-1].lower() == MACROS for name in names):
        return frozenset()
    return names


def _directory_declared(data: bytes) -> tuple[int, int] | None:
    """How many entries the ZIP's end-of-directory record says it has and how long its directory is (read before
    zipfile parses the directory), or None when there is no such record."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))  # the record, then a comment of up to 64 KB
    if at < 0 or at + 22 > len(data):
        return None
    entries, size = struct.unpack_from("<HI", data, at + 10)
    return int(entries), int(size)


def kind_named(code: str) -> FileKind | None:
    return BY_CODE.get(code)


def kind_label(code: str) -> str:
    """The label people read for a stored kind ("PDF"); a code the table no longer has reads as itself."""
    kind = BY_CODE.get(code)
    return kind.label if kind else code.upper()


# --------------------------------------------------------------------------------------------- in words
def size_words(size: int) -> str:
    """A size as people read it: "830 bytes", "12 KB", "1.3 MB". Rounded up, so a file just over the limit never
    reads as within it."""
    if size < 1024:
        return "1 byte" if size == 1 else f"{size} bytes"
    if size < 1024 * 1024:
        return f"{math.ceil(size / 1024)} KB"
    tenths = math.ceil(size * 10 / (1024 * 1024))
    return f"{tenths // 10} MB" if tenths % 10 == 0 else f"{tenths / 10:.1f} MB"


def accepted_words() -> str:
    """What is accepted, from the table and the limits: "PDF, Word (DOCX), Excel (XLSX), PNG or JPEG, at most
    20 MB each, up to 5 files"."""
    shorts = [kind.short for kind in ACCEPTED]
    kinds = f"{', '.join(shorts[:-1])} or {shorts[-1]}" if len(shorts) > 1 else shorts[0]
    return f"{kinds}, at most {size_words(MAX_FILE_BYTES)} each, up to {MAX_FILES} files"


def stored_name(name: str) -> str:
    """The name a file is kept under: the last part of any path, without characters no database stores, at most
    NAME_LENGTH characters (keeping its ending), never empty. It is only ever shown."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = SURROGATE.sub("", CONTROL.sub("", base)).strip().lstrip(".").strip() or "file"
    if len(base) <= NAME_LENGTH:
        return base
    stem, dot, ending = base.rpartition(".")
    if dot and stem and len(ending) < 16:
        return f"{stem[: NAME_LENGTH - len(ending) - 1]}.{ending}"
    return base[:NAME_LENGTH]


# ---------------------------------------------------------------------------------------------- storing
async def keep_file(session: AsyncSession, eoi: EOI, *, name: str, data: bytes, by: str, now: datetime) -> EvidenceFile:
    """Attach a file to the EOI, or raise FileRefused with nothing written. Audited; `by` is "platform:user_id"."""
    name = stored_name(name)
    size = len(data)
    if not data:
        raise FileRefused(EMPTY, name, size=size)
    if size > MAX_FILE_BYTES:
        raise FileRefused(TOO_BIG, name, size=size)
    kind = kind_of(data)
    if kind is None:
        raise FileRefused(NOT_ACCEPTED, name, size=size)
    digest = hashlib.sha256(data).hexdigest()
    # Files for one EOI are added one at a time (FOR NO KEY UPDATE: a notice or audit entry naming the EOI
    # meanwhile need not wait), so two people sending at once can't take it past MAX_FILES. SQLite's writers
    # take turns anyway; it ignores the clause.
    await session.execute(select(EOI.id).where(EOI.id == eoi.id).with_for_update(key_share=True))
    sent = await files_of(session, eoi.id)
    same = next((file for file in sent if file.sha256 == digest), None)
    if same is not None:
        raise FileRefused(ALREADY_SENT, name, size=size, same_as=same)
    if len(sent) >= MAX_FILES:
        raise FileRefused(TOO_MANY, name, size=size)
    file = EvidenceFile(
        eoi_id=eoi.id, name=name, kind=kind.code, size=size, sha256=digest, data=data, sent_at=now, sent_by=by
    )
    session.add(file)
    await session.flush()  # its id now: the dialog lists it and an officer fetches it by it
    audit.record(
        session, at=now, actor=by, action="file attached", eoi_id=eoi.id, note=_described(name, kind.code, size, digest)
    )
    return file


async def files_of(session: AsyncSession, eoi_id: int, *, with_data: bool = False) -> list[EvidenceFile]:
    """The EOI's files in the order they were sent; their bytes only `with_data` (else `file_data` reads one)."""
    query = select(EvidenceFile).where(EvidenceFile.eoi_id == eoi_id).order_by(EvidenceFile.sent_at, EvidenceFile.id)
    if with_data:
        query = query.options(undefer(EvidenceFile.data))
    return list(await session.scalars(query))


async def files_for(session: AsyncSession, eoi_ids: list[int]) -> list[EvidenceFile]:
    """The files of all these EOIs (an export's), in one query, without their bytes."""
    if not eoi_ids:
        return []
    query = select(EvidenceFile).where(EvidenceFile.eoi_id.in_(eoi_ids))
    return list(await session.scalars(query.order_by(EvidenceFile.sent_at, EvidenceFile.id)))


async def file_data(session: AsyncSession, file_id: int) -> bytes | None:
    """One file's bytes, or None when it is no longer held (removed, or gone with its EOI)."""
    data = await session.scalar(select(EvidenceFile.data).where(EvidenceFile.id == file_id))
    return bytes(data) if data is not None else None  # asyncpg may hand back a memoryview-like buffer


async def remove_file(session: AsyncSession, file: EvidenceFile, *, by: str, now: datetime) -> None:
    """Take a file off its EOI (the school changed its mind, or sent the wrong one). Audited."""
    await session.delete(file)
    await session.flush()
    audit.record(
        session,
        at=now,
        actor=by,
        action="file removed",
        eoi_id=file.eoi_id,
        note=_described(file.name, file.kind, file.size, file.sha256),
    )


def _described(name: str, code: str, size: int, digest: str) -> str:
    # The SHA-256's start ties the entry to the file's bytes (an officer can check a copy); the name is as sent.
    return f"{name} ({kind_label(code)}, {size_words(size)}, SHA-256 {digest[:12]}…)"
