"""Files a headteacher attaches to an EOI as evidence, in words: what was kept or refused and why, each file as
the school and officers read it ("site-plan.pdf (PDF, 1.2 MB)"), and removing one.

What is accepted is storage.evidence's table and limits; this module only says it. A file is kept, or refused
with what is accepted, whole: nothing is half-stored (storage.evidence.keep_file checks it all before writing)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.replies import Reply, say
from dialogs.rich import Text, md
from dialogs.turns import ReceivedFile
from storage import audit, evidence
from storage.models import EOI, EvidenceFile

# Words that finish the attachments question, with or without files sent.
DONE_WORDS = (
    *("done", "finished", "that's all", "thats all", "that's it", "thats it", "all done", "no", "none", "nothing"),
    *("no files", "no thanks", "no attachments", "nothing to attach", "not now", "keep these", "keep them"),
)
_REMOVE = re.compile(r"^(?:remove|delete|take off|take out|drop)\s+(?P<which>.+)$", re.I)


def label(file: EvidenceFile) -> str:
    return f"{file.name} ({evidence.kind_label(file.kind)}, {evidence.size_words(file.size)})"


async def labels(session: AsyncSession, eoi_id: int | None) -> dict[int, str]:
    """Each file of the EOI by id, as read: what an `attachments` answer (a list of ids) shows."""
    if eoi_id is None:
        return {}
    return {f.id: label(f) for f in await evidence.files_of(session, eoi_id)}


def _refused(name: str, reason: str) -> Text:
    """Why a file wasn't kept, always with what is accepted."""
    why = {
        "not_accepted": "isn't a file I can accept",
        "too_big": f"is over {evidence.size_words(evidence.MAX_FILE_BYTES)}",
        "too_many": f"would be more than {evidence.MAX_FILES} files",
        "empty": "is empty",
        "already_sent": "is already attached",
        "unreachable": "couldn't be fetched (the download failed), so nothing was kept: please send it again",
    }.get(reason, "couldn't be kept")
    if reason in ("already_sent", "unreachable"):
        return md("✗ {} {}.", name, why)
    return md("✗ {} {}. I accept {}.", name, why, evidence.accepted_words())


async def keep(
    session: AsyncSession, eoi: EOI, files: tuple[ReceivedFile, ...], *, by: str, now: datetime
) -> list[Text]:
    """Keep each file sent (checked by its content), a line for each saying what became of it."""
    said: list[Text] = []
    for sent in files:
        if sent.problem:
            said.append(_refused(sent.name, sent.problem))
            continue
        try:
            kept = await evidence.keep_file(session, eoi, name=sent.name, data=sent.data, by=by, now=now)
        except evidence.FileRefused as refused:
            said.append(_refused(sent.name, refused.reason))
            continue
        said.append(md("✓ Kept {}.", label(kept)))
    return said


def removal(text: str) -> str | None:
    """ "remove site-plan.pdf" or "delete 2": which file to remove, as said; None when it isn't a removal."""
    match = _REMOVE.match(text.strip())
    return match.group("which").strip(" .\"'“”") if match else None


async def remove(session: AsyncSession, eoi: EOI, which: str, *, by: str, now: datetime) -> Text:
    """Remove the file named (by its number in the list, or its name), saying which; or that none matched."""
    files = await evidence.files_of(session, eoi.id)
    chosen = None
    if which.isdecimal() and 1 <= int(which) <= len(files):
        chosen = files[int(which) - 1]
    else:
        chosen = next((f for f in files if f.name.casefold() == which.casefold()), None)
    if chosen is None:
        names = ", ".join(f"{n} {f.name}" for n, f in enumerate(files, 1)) or "none yet"
        return md("I couldn't find the file “{}”. The files are: {}.", which[:80], names)
    await evidence.remove_file(session, chosen, by=by, now=now)
    return md("Removed {}.", chosen.name)


async def names_for(session: AsyncSession, eoi_ids: list[int]) -> dict[int, str]:
    """Each file of these EOIs by id, by its name: what the export writes."""
    return {f.id: f.name for f in await evidence.files_for(session, eoi_ids)}


async def fetched(session: AsyncSession, eoi: EOI, which: str = "", *, actor: str, now: datetime) -> list[Reply]:
    """An officer fetches an EOI's files into their own chat (`show REF files`, or one: `show REF file 2`): each
    as a file, audited. Each reply names the command that fetches that one file again, for a platform that takes
    a file only once the person allows it (Teams)."""
    files = await evidence.files_of(session, eoi.id)
    if not files:
        return [say(md("{} has no files attached.", eoi.ref or "This EOI"))]
    numbered = list(enumerate(files, 1))
    if which:
        numbered = [(n, f) for n, f in numbered if str(n) == which or f.name.casefold() == which.casefold()]
        if not numbered:
            listed = ", ".join(f"{n} {f.name}" for n, f in enumerate(files, 1))
            return [say(md("{} has no file “{}”. Its files: {}.", eoi.ref, which[:80], listed))]
    replies = []
    for n, f in numbered:
        data = await evidence.file_data(session, f.id)
        if data is None:
            continue
        audit.record(session, at=now, actor=actor, action="fetched file", eoi_id=eoi.id, note=f"{f.name} {f.sha256}")
        again = f"show {eoi.ref} file {n}"
        replies.append(say(md("{} from {}.", label(f), eoi.ref), file=(f.name, data), remake=again))
    return replies
