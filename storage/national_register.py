"""The national register: the establishment file the Department for Education publishes from Get Information About
Schools (`edubasealldataYYYYMMDD.csv`: about 150 columns, one row per establishment in England, Windows-1252),
imported by `eoi-bot import schools` beside the council's own register (storage.register).

Only what EOIs need is read (COLUMNS); every other column is ignored. Only open mainstream schools of the council's
local authority are kept (EOI_LA_CODE; the rest are counted and said). Each is merged by URN: the national
register's facts (name, phase, type, ages, roll and capacity, trust, postcode, Ofsted) replace what it said
before, and the council's own columns (quadrant, district, headteacher email, Slack and Teams channels) are never
overwritten; a school the council's register doesn't have yet is added with the quadrant of its district and no
email. A file with any bad value is refused whole, naming its line and column.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, people
from storage.models import School
from storage.register import MOST_PROBLEMS, MOST_SCHOOLS, ImportResult, rows_of
from storage.stored_text import unstorable
from storage.vocabulary import DISTRICTS

# As the Department for Education publishes it; a copy saved again as UTF-8 by a spreadsheet starts with a BOM.
ENCODING = "cp1252"
UTF8_BOM = b"\xef\xbb\xbf"

# The columns read, by the register's own names.
URN, NAME = "URN", "EstablishmentName"
TYPE, GROUP, STATUS = "TypeOfEstablishment (name)", "EstablishmentTypeGroup (name)", "EstablishmentStatus (name)"
PHASE, LOW, HIGH = "PhaseOfEducation (name)", "StatutoryLowAge", "StatutoryHighAge"
PUPILS, CAPACITY, TRUST = "NumberOfPupils", "SchoolCapacity", "Trusts (name)"
LA_CODE, DISTRICT, POSTCODE = "LA (code)", "DistrictAdministrative (name)", "Postcode"
HEAD = ("HeadTitle (name)", "HeadFirstName", "HeadLastName")
OFSTED, INSPECTED = "OfstedRating (name)", "OfstedLastInsp"
REQUIRED = (URN, NAME, TYPE, GROUP, STATUS, PHASE, LA_CODE, DISTRICT)

OPEN = ("Open", "Open, but proposed to close")
# Resourced and partnership provision is in mainstream schools: maintained schools, academies and free schools.
MAINSTREAM = ("Local authority maintained schools", "Academies", "Free Schools")
PHASES = {
    "Primary": "primary",
    "Middle deemed primary": "primary",
    "Secondary": "secondary",
    "Middle deemed secondary": "secondary",
    "All-through": "all-through",
}
# Text the national register may hold longer than a column does: refused by name, never cut short.
LENGTHS = {NAME: 200, TYPE: 100, GROUP: 60, TRUST: 200, POSTCODE: 10, OFSTED: 60}
# Every column read; the file's other hundred-odd are never looked at.
READ = tuple(dict.fromkeys((*REQUIRED, *LENGTHS, *HEAD, LOW, HIGH, PUPILS, CAPACITY, INSPECTED)))


def is_national_register(first_line: bytes) -> bool:
    """Is this the establishment file (by its header), rather than the council's own register?"""
    names = {n.strip().strip('"') for n in first_line.removeprefix(UTF8_BOM).decode(ENCODING, "replace").split(",")}
    return URN in names and NAME in names


def encoding_of(first_line: bytes) -> str:
    return "utf-8-sig" if first_line.startswith(UTF8_BOM) else ENCODING


@dataclass
class Facts:
    """One open mainstream school of the council, as the national register describes it."""

    urn: str
    name: str
    phase: str
    district: str
    head: str
    establishment_type: str
    establishment_group: str
    statutory_low_age: int | None
    statutory_high_age: int | None
    pupils: int | None
    capacity: int | None
    trust: str
    la_code: str
    postcode: str
    ofsted_rating: str
    ofsted_inspected: date | None


def _number(row: dict[str, str], column: str, problems: list[str], line: int) -> int | None:
    raw = row.get(column, "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{1,6}", raw):
        problems.append(f"line {line}, column {column}: {raw[:40]!r} is not a whole number")
        return None
    return int(raw)


def _date(row: dict[str, str], column: str, problems: list[str], line: int) -> date | None:
    raw = row.get(column, "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%d-%m-%Y").date()  # the register writes 05-03-2024
    except ValueError:
        problems.append(f"line {line}, column {column}: {raw[:40]!r} is not a date written as dd-mm-yyyy")
        return None


def _facts(row: dict[str, str], line: int, known: set[str]) -> tuple[Facts | None, list[str]]:
    why: list[str] = []
    urn = row[URN]
    if not re.fullmatch(r"\d{5,8}", urn):
        why.append(f"line {line}, column {URN}: {urn[:40]!r} is not a URN")
    if not row[NAME]:
        why.append(f"line {line}, column {NAME}: empty")
    for column, most in LENGTHS.items():
        if len(row.get(column, "")) > most:
            why.append(f"line {line}, column {column}: longer than {most} characters")
    for column in READ:
        if bad := unstorable(row.get(column, "")):
            why.append(f"line {line}, column {column}: has {bad}, which can't be kept")
    district = row[DISTRICT]
    if district not in DISTRICTS and urn not in known:
        why.append(
            f"line {line}, column {DISTRICT}: {district[:60]!r} is not one of Essex's districts, and the council's "
            "register doesn't have the school to say its quadrant"
        )
    facts = Facts(
        urn=urn,
        name=row[NAME],
        phase=PHASES[row[PHASE]],
        district=district,
        head=" ".join(part for part in (row.get(h, "").strip() for h in HEAD) if part),
        establishment_type=row[TYPE],
        establishment_group=row[GROUP],
        statutory_low_age=_number(row, LOW, why, line),
        statutory_high_age=_number(row, HIGH, why, line),
        pupils=_number(row, PUPILS, why, line),
        capacity=_number(row, CAPACITY, why, line),
        trust=row.get(TRUST, ""),
        la_code=row[LA_CODE],
        postcode=row.get(POSTCODE, "").upper(),
        ofsted_rating=row.get(OFSTED, ""),
        ofsted_inspected=_date(row, INSPECTED, why, line),
    )
    return (None if why else facts), why


def _left_out(row: dict[str, str], la_code: str) -> str:
    """Why a row is not one of the council's open mainstream schools ("" if it is)."""
    if row[LA_CODE] != la_code:
        return "of other local authorities"
    if row[STATUS] not in OPEN:
        return "closed or proposed"
    if row[GROUP] not in MAINSTREAM:
        return "not mainstream (special, independent, colleges and others)"
    if row[PHASE] not in PHASES:
        return "with no primary or secondary phase (nursery, 16 plus)"
    return ""


async def import_national_register(
    session: AsyncSession, lines: Iterable[str], *, la_code: str, actor: str, now: datetime
) -> ImportResult:
    """Merge the council's open mainstream schools from the establishment file (its lines, decoded) by URN."""
    result = ImportResult()
    existing = {school.urn: school for school in (await session.scalars(select(School))).all()}
    reader = csv.DictReader(lines)
    try:
        header = [name.strip() for name in reader.fieldnames or []]
    except (csv.Error, UnicodeDecodeError) as error:
        result.problems.append(f"line 1: can't be read as the national register's CSV ({error})")
        return result
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        result.problems.append(f"line 1: the header row is missing {', '.join(missing)}")
        return result
    reader.fieldnames = header
    kept: dict[str, Facts] = {}
    left: Counter[str] = Counter()
    known = set(existing)
    for line, row in rows_of(reader, result):
        if len(result.problems) >= MOST_PROBLEMS:
            result.problems.append(f"stopped reading at line {line}: fix these {MOST_PROBLEMS} problems first")
            break
        if None in row:
            result.problems.append(f"line {line}: more values than the header has columns")
            continue
        clean = {column: (value or "").strip() for column, value in row.items()}
        why = _left_out(clean, la_code)
        if why:
            left[why] += 1
            continue
        if len(kept) >= MOST_SCHOOLS:
            result.problems.append(f"line {line}: more than {MOST_SCHOOLS:,} open schools for one authority")
            break
        facts, problems = _facts(clean, line, known)
        if facts and facts.urn in kept:
            problems = [f"line {line}, column {URN}: {facts.urn} is on the file twice"]
        result.problems.extend(problems)
        if facts and not problems:
            kept[facts.urn] = facts
    if not result.problems and not kept:
        result.problems.append(f"no open mainstream school of local authority {la_code} in the file (EOI_LA_CODE)")
    if result.problems:
        return result
    added = 0
    for facts in kept.values():
        school = existing.get(facts.urn)
        if school is None:
            added += 1
            school = School(
                urn=facts.urn,
                quadrant=DISTRICTS[facts.district],
                district=facts.district,
                headteacher_name=facts.head,
                headteacher_email="",
                slack_channel_id="",
                teams_channel_id="",
            )
            session.add(school)
        elif not school.headteacher_name:
            school.headteacher_name = facts.head
        # The national register's own facts; the council's columns above are never overwritten.
        school.name, school.phase = facts.name, facts.phase
        school.establishment_type, school.establishment_group = facts.establishment_type, facts.establishment_group
        school.statutory_low_age, school.statutory_high_age = facts.statutory_low_age, facts.statutory_high_age
        school.pupils, school.capacity, school.trust = facts.pupils, facts.capacity, facts.trust
        school.la_code, school.postcode = facts.la_code, facts.postcode
        school.ofsted_rating, school.ofsted_inspected = facts.ofsted_rating, facts.ofsted_inspected
    audit.record(
        session,
        at=now,
        actor=actor,
        action="import schools",
        note=f"{len(kept)} schools from the national register ({added} new)",
    )
    result.links = await people.recheck_register_links(session, now=now, actor=actor)
    await session.commit()
    result.rows = len(kept)
    if added:
        result.notes.append(f"{added} of them new to the register, with no headteacher email yet")
    result.notes += [f"left out: {n} {why}" for why, n in sorted(left.items())]
    return result
