"""A copy for the school: what it sent, as a PDF for its governors. On submit and resubmit the submit path calls
`send_school_copy`, which shares the PDF in the head's chat (the reply it returns carries it as a file) and, when
email is configured, queues it as an email to the contact email the EOI gives (a notice to that address, sent once,
retried and recorded by the dispatcher like every other message).

The PDF is made here with fpdf2 in a Unicode font committed beside this module (dialogs/fonts/: DejaVu Sans), so
whatever a head types prints: curly quotes, £ and €, accents; a character the font lacks (an emoji) is printed as
its name in brackets or as �, never dropped silently and never a crash. Long answers wrap and run over pages; a
word too long for a line is broken. Its file name is the reference alone: nothing personal in a name that is
shown in chat and mail lists.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.dates import LONDON, format_date
from dialogs.replies import COPY, Reply
from dialogs.rich import Text, md, rich
from storage import notices
from storage.audiences import EMAIL
from storage.evidence import size_words
from storage.models import EOI, School

FONTS = Path(__file__).with_name("fonts")
FONT = "DejaVu"
REGULAR, BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
NOTICE_KIND = "school copy"  # the notice (and so each delivery) of the email
MISSING = "\ufffd"  # printed for a character the font lacks that has no name to print instead
# notices.recipient holds at most 230 characters: "email:" and the address.
LONGEST_RECIPIENT = 230
PLAIN_ADDRESS = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+")
# Regional indicator letters (two make a flag: 🇬🇧), printed as the letters they stand for.
REGIONAL_A, REGIONAL_Z = 0x1F1E6, 0x1F1FF
LINE = 5.5  # mm between lines of answer text (11 pt)


@dataclass(frozen=True)
class CopyOf:
    """What the copy says, as the review showed it: each answer as (label, the answer as shown), each file as
    (name, type label, bytes)."""

    school_name: str
    urn: str
    reference: str
    submitted_at: datetime
    answers: Sequence[tuple[str, str]]
    files: Sequence[tuple[str, str, int]] = ()
    resubmitted: bool = False


def file_name(reference: str) -> str:
    """`EOI-2026-0042.pdf`: the reference and nothing else (a name is shown wherever the file goes)."""
    return f"{re.sub(r'[^A-Za-z0-9-]+', '-', reference).strip('-') or 'EOI'}.pdf"


def when_words(at: datetime) -> str:
    """'7 December 2026 at 14:05' on the London clock (a naive time is London's already, as dialogs.dates reads)."""
    local = at.replace(tzinfo=LONDON) if at.tzinfo is None else at.astimezone(LONDON)
    return f"{format_date(local.date())} at {local:%H:%M}"


@cache
def _characters() -> frozenset[int]:
    """The characters both fonts can print (the same set: they were cut down alike, dialogs/fonts/README.md)."""
    found = None
    for path in (REGULAR, BOLD):
        with TTFont(path, lazy=True) as font:
            has = frozenset(font.getBestCmap())
        found = has if found is None else found & has
    return found or frozenset()


def printable(text: str) -> str:
    """`text` as the font can print it: composed (é as one character), tabs as spaces, and each character the font
    lacks shown as something visible: an emoji as its name in brackets ("[grinning face]"), a flag as its letters,
    anything else as �. Invisible marks the font lacks (joiners, variation selectors, skin tones) are left out."""
    has = _characters()
    out: list[str] = []
    flag: list[str] = []

    def end_flag() -> None:
        if flag:
            out.append(f"[flag {''.join(flag)}]")
            flag.clear()

    for char in unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\t", "    ")):
        code = ord(char)
        if REGIONAL_A <= code <= REGIONAL_Z:
            flag.append(chr(ord("A") + code - REGIONAL_A))
            continue
        end_flag()
        if char == "\n" or code in has:
            out.append(char)
        elif unicodedata.category(char) in ("Cf", "Cc", "Mn", "Me", "Sk"):
            continue  # joins, selects or modifies what is beside it: nothing of its own to print
        elif unicodedata.category(char) == "So" and (name := unicodedata.name(char, "")):
            out.append(f"[{name.lower()}]")
        else:
            out.append(MISSING)
    end_flag()
    return "".join(out)


class _Document(FPDF):
    """A4 pages with the reference and the page number at the foot of each."""

    def __init__(self, reference: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.reference = reference
        self.add_font(FONT, "", str(REGULAR))
        self.add_font(FONT, "B", str(BOLD))
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(20, 20, 20)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, printable(f"{self.reference} · page {self.page_no()} of {{nb}}"), align="C")
        self.set_text_color(0, 0, 0)

    def lines(self, text: str, *, size: float, bold: bool = False, height: float = LINE, after: float = 0) -> None:
        self.set_font(FONT, "B" if bold else "", size)
        for paragraph in printable(text).split("\n"):
            for line in self.wrapped(paragraph):
                self.cell(0, height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if after:
            self.ln(after)

    def wrapped(self, paragraph: str) -> list[str]:
        """The paragraph in lines that fit the page, broken between words (a word too long for a line, between its
        characters). Each word is measured once: fpdf2's multi_cell measures the line again at every character,
        which made a long answer's copy cost about 150 ms of CPU in the turn that submits it."""
        room, space = self.epw, self.get_string_width(" ")
        lines: list[str] = []
        line: str | None = None
        used = 0.0
        for word in paragraph.split(" "):
            width = self.get_string_width(word)
            if line is not None and used + space + width <= room:
                line, used = f"{line} {word}", used + space + width
                continue
            if line is not None:
                lines.append(line)
            while width > room:  # a word longer than a line (an address, a URL): cut where it fills the line
                cut = max(1, next(n for n in range(1, len(word) + 1) if self.get_string_width(word[:n]) > room) - 1)
                lines.append(word[:cut])
                word = word[cut:]
                width = self.get_string_width(word)
            line, used = word, width
        lines.append(line or "")
        return lines


def pdf_of(copy: CopyOf) -> bytes:
    """The school's copy as a PDF: a title with the reference, the school and its URN, when it was (re)submitted,
    every answer as its label then the answer as the review showed it, the files sent with it, page numbers."""
    pdf = _Document(copy.reference)
    pdf.set_title(copy.reference)  # the metadata names the reference only, as the file name does
    pdf.set_creator("Essex County Council EOI bot")
    pdf.set_creation_date(copy.submitted_at)  # the same answers make the same file
    pdf.add_page()
    pdf.lines(f"Expression of interest {copy.reference}", size=18, bold=True, height=9, after=1)
    pdf.lines(copy.school_name, size=13, bold=True, height=7)
    pdf.lines(f"URN {copy.urn}", size=11, after=2)
    said = "Resubmitted" if copy.resubmitted else "Submitted"
    pdf.lines(f"{said} on {when_words(copy.submitted_at)}", size=11)
    what = "What your school sent to Essex County Council"
    if copy.resubmitted:
        what += " when it resubmitted: this replaces any copy from before"
    pdf.lines(f"{what}, for your records and your governors.", size=9, after=5)
    for label, answer in copy.answers:
        if pdf.will_page_break(LINE * 3):
            pdf.add_page()  # a label is never left alone at the foot of a page
        pdf.lines(label, size=11, bold=True)
        pdf.lines(answer.strip() or "(no answer)", size=11, after=3)
    if pdf.will_page_break(LINE * 3):
        pdf.add_page()
    pdf.lines("Files sent with it", size=11, bold=True)
    if not copy.files:
        pdf.lines("None", size=11)
    for name, kind, size in copy.files:
        pdf.lines(f"• {name} ({kind}, {size_words(size)})", size=11)
    return bytes(pdf.output())


def school_copy(
    *,
    school_name: str,
    urn: str,
    reference: str,
    submitted_at: datetime,
    answers: Sequence[tuple[str, str]],
    files: Sequence[tuple[str, str, int]] = (),
    resubmitted: bool = False,
) -> bytes:
    """The PDF of `CopyOf` these (see pdf_of)."""
    return pdf_of(CopyOf(school_name, urn, reference, submitted_at, answers, files, resubmitted))


def copy_reply(reference: str, pdf: bytes, *, emailed_to: str = "") -> Reply:
    """The message in the head's chat that carries the PDF (a file: shared privately, in their direct messages
    where the platform allows), saying where else it went."""
    name = file_name(reference)
    words: Text = md("Here is a copy of what you sent, for your governors: {}", name)
    if emailed_to:
        words = rich(words, md(". I've emailed it to {} as well.", emailed_to))
    return Reply(text=words, file=(name, pdf))


def email_reply(copy: CopyOf, pdf: bytes) -> Reply:
    """The email of the copy, to the EOI's contact: the PDF attached, nothing to answer."""
    said = "resubmitted" if copy.resubmitted else "sent"
    return Reply(
        text=md(
            "Here is a copy of the expression of interest {} {} to Essex County Council on {}, for your records "
            "and your governors. It is attached: {}.",
            copy.school_name,
            said,
            when_words(copy.submitted_at),
            file_name(copy.reference),
        ),
        kind=COPY,
        title=f"Your expression of interest {copy.reference}",
        file=(file_name(copy.reference), pdf),
    )


def contact_address(eoi: EOI) -> str:
    """The EOI's contact email (its `contact_email` answer) if it is one plain address that fits a notice."""
    address = str((eoi.answers or {}).get("contact_email") or "").strip()
    fits = PLAIN_ADDRESS.fullmatch(address) and len(f"{EMAIL}:{address}") <= LONGEST_RECIPIENT
    return address if fits else ""


async def send_school_copy(
    session: AsyncSession,
    *,
    eoi: EOI,
    school: School,
    answers: Sequence[tuple[str, str]],
    files: Sequence[tuple[str, str, int]] = (),
    now: datetime,
    email_configured: bool,
    resubmitted: bool = False,
) -> Reply:
    """On submit and resubmit: the PDF copy, queued as an email to the EOI's contact email when email is
    configured (in this turn's transaction: it goes only if the submission commits), and returned as the reply
    that shares it in the head's chat. `answers` are (label, answer as the review shows it), `files` (name, type
    label, bytes)."""
    copy = CopyOf(
        school_name=school.name,
        urn=school.urn,
        reference=eoi.ref or f"EOI {eoi.id}",
        submitted_at=eoi.submitted_at or now,
        answers=answers,
        files=files,
        resubmitted=resubmitted,
    )
    pdf = await asyncio.to_thread(pdf_of, copy)  # about 0.2 s of CPU: other people's turns carry on meanwhile
    address = contact_address(eoi) if email_configured else ""
    if address:
        await notices.to_address(
            session,
            recipient=f"{EMAIL}:{address}",
            kind=NOTICE_KIND,
            body=email_reply(copy, pdf).to_dict(),
            now=now,
            school_urn=school.urn,
            eoi_id=eoi.id,
        )
    return copy_reply(copy.reference, pdf, emailed_to=address)
