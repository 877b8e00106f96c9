"""The school register and the identified need, imported from CSV with the columns
SCHOOL_COLUMNS and NEED_COLUMNS name (one header row; `notes` may be left out).

A file with any invalid row is rejected whole: every bad row is named by line number and reason, and
nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, people
from storage.models import NeedRow, School, Window
from storage.stored_text import unstorable
from storage.vocabulary import DISTRICTS, NEED_TYPES, PHASES, QUADRANTS

SCHOOL_COLUMNS = (
    "urn",
    "name",
    "phase",
    "quadrant",
    "district",
    "headteacher_name",
    "headteacher_email",
    "slack_channel_id",
    "teams_channel_id",
)
NEED_COLUMNS = ("quadrant", "district", "phase", "need_type", "provision_type", "places", "priority", "notes")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROVISIONS = ("resourced", "partnership")
# Bounds on a file, so that any file (a 50 MB register, 100,000 need rows) is read in bounded time and memory:
# reading stops at the first row past the limit, or once this many rows are wrong.
# One council's register: Essex has about 550 schools, the largest English authority under 700.
MOST_SCHOOLS = 5000
# One need row per quadrant (or district), phase, need type and provision is all a window's need can say.
MOST_NEED_ROWS = (len(QUADRANTS) + len(DISTRICTS)) * len(PHASES) * len(NEED_TYPES) * len(PROVISIONS)
MOST_PROBLEMS = 50


@dataclass
class ImportResult:
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    # Headteacher links the import changed (a new head's email, an old head's removed), one line each.
    links: list[str] = field(default_factory=list)
    # Anything else to say about what was imported, one line each (what the national register's file left out).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _canonical(value: str, options: dict[str, str] | tuple[str, ...]) -> str | None:
    folded = {o.casefold(): o for o in options}
    return folded.get(value.strip().casefold())


def _enough_problems(result: ImportResult, line: int) -> bool:
    """After MOST_PROBLEMS problems, stop (saying so): the first are enough to fix, and a file of nothing but
    problems is read no further."""
    if len(result.problems) < MOST_PROBLEMS:
        return False
    result.problems.append(f"stopped reading at line {line}: fix these {MOST_PROBLEMS} problems first")
    return True


def rows_of(reader: csv.DictReader[str], result: ImportResult) -> Iterator[tuple[int, dict[str, str]]]:
    """A CSV file's rows with their line numbers, as they are read, until its end or a line that can't be read (a
    byte the encoding has no character for, a broken quote: said in `result`, and nothing more is read)."""
    while True:
        try:
            row = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as error:
            result.problems.append(f"line {reader.line_num + 1}: can't be read as CSV ({error}); stopped reading")
            return
        if row is None:
            return
        yield reader.line_num, row


def _read_csv(
    text: str | Iterable[str], columns: tuple[str, ...], result: ImportResult, *, most: int, what: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's rows (a string, or its lines as they are read), each cleaned, as they are read; problems into
    `result` (the caller's too). Stops at row `most` + 1 (the file is refused: `what` says what it holds too many
    of) or at MOST_PROBLEMS problems, so a file is never read further than that."""
    lines = io.StringIO(text.removeprefix("\ufeff")) if isinstance(text, str) else text  # Excel writes a BOM
    reader = csv.DictReader(lines)
    try:
        fieldnames = reader.fieldnames
    except (csv.Error, UnicodeDecodeError) as error:
        result.problems.append(f"line 1: can't be read as CSV ({error})")
        return
    header = [h.strip().lower().removeprefix("\ufeff") for h in (fieldnames or [])]
    missing = [c for c in columns if c not in header and c not in ("notes",)]
    if missing:
        result.problems.append(
            f"line 1: the header row is missing {', '.join(missing)} (expected: {','.join(columns)})"
        )
        return
    reader.fieldnames = header
    count = 0
    for line, row in rows_of(reader, result):
        if _enough_problems(result, line):
            break
        if count >= most:
            result.problems.append(
                f"line {line}: more than {most:,} rows, and {what}: this isn't the file to import here"
            )
            break
        if None in row:
            result.problems.append(f"line {line}: more values than columns")
            continue
        clean = {k: (v or "").strip() for k, v in row.items() if k}
        if not any(clean.values()):
            continue
        bad = [f"{k} has {why}" for k, v in clean.items() if (why := unstorable(v))]
        if bad:
            # A NUL or a stray control character from a copy-paste or an export: PostgreSQL refuses it.
            result.problems.append(f"line {line}: {'; '.join(bad)}, which can't be kept: remove it")
            continue
        count += 1
        yield line, clean
    if not count and not result.problems:
        result.problems.append("the file has a header but no rows")


def _school_from(row: dict[str, str]) -> tuple[School | None, list[str]]:
    why: list[str] = []
    urn = row.get("urn", "")
    if not re.fullmatch(r"\d{5,8}", urn):
        why.append(f"urn {urn!r} should be the school's 6-digit URN")
    if not row.get("name"):
        why.append("name is empty")
    phase = _canonical(row.get("phase", ""), PHASES)
    if not phase:
        why.append(f"phase {row.get('phase', '')!r} should be primary, secondary or all-through")
    quadrant = _canonical(row.get("quadrant", ""), tuple(QUADRANTS))
    if not quadrant:
        why.append(f"quadrant {row.get('quadrant', '')!r} should be one of {', '.join(QUADRANTS)}")
    district = _canonical(row.get("district", ""), tuple(DISTRICTS))
    if not district:
        why.append(f"district {row.get('district', '')!r} is not an Essex district")
    elif quadrant and DISTRICTS[district] != quadrant:
        why.append(f"{district} is in the {DISTRICTS[district]} quadrant, not {quadrant}")
    email = row.get("headteacher_email", "")
    if email and not EMAIL.match(email):
        why.append(f"headteacher_email {email!r} is not an email address")
    if why:
        return None, why
    return School(
        urn=urn,
        name=row["name"],
        phase=phase,
        quadrant=quadrant,
        district=district,
        headteacher_name=row.get("headteacher_name", ""),
        headteacher_email=email.lower(),
        slack_channel_id=row.get("slack_channel_id", ""),
        teams_channel_id=row.get("teams_channel_id", ""),
    ), []


async def import_schools(
    session: AsyncSession, text: str | Iterable[str], *, actor: str, now: datetime
) -> ImportResult:
    result = ImportResult()
    schools: list[School] = []
    seen: dict[str, int] = {}
    too_many = f"one council's register has far fewer schools (Essex about 550; at most {MOST_SCHOOLS:,} are taken)"
    for line, row in _read_csv(text, SCHOOL_COLUMNS, result, most=MOST_SCHOOLS, what=too_many):
        school, why = _school_from(row)
        if school and school.urn in seen:
            why = [f"urn {school.urn} is already on line {seen[school.urn]}"]
        if why and _enough_problems(result, line):
            break
        if why:
            result.problems.append(f"line {line}: " + "; ".join(why))
        elif school:
            seen[school.urn] = line
            schools.append(school)
    if result.problems:
        return result
    for school in schools:
        await session.merge(school)  # re-importing the register updates schools in place
    audit.record(session, at=now, actor=actor, action="import schools", note=f"{len(schools)} schools")
    # The register decides who heads each school: links made from it follow it, in the same transaction.
    result.links = await people.recheck_register_links(session, now=now, actor=actor)
    await session.commit()
    result.rows = len(schools)
    return result


def _need_from(row: dict[str, str]) -> tuple[dict[str, object] | None, list[str]]:
    why: list[str] = []
    quadrant = _canonical(row.get("quadrant", ""), tuple(QUADRANTS))
    if not quadrant:
        why.append(f"quadrant {row.get('quadrant', '')!r} should be one of {', '.join(QUADRANTS)}")
    district = ""
    if row.get("district"):
        district = _canonical(row["district"], tuple(DISTRICTS)) or ""
        if not district:
            why.append(f"district {row['district']!r} is not an Essex district (leave it blank for the quadrant)")
        elif quadrant and DISTRICTS[district] != quadrant:
            why.append(f"{district} is in the {DISTRICTS[district]} quadrant, not {quadrant}")
    phase = _canonical(row.get("phase", ""), PHASES)
    if not phase:
        why.append(f"phase {row.get('phase', '')!r} should be primary, secondary or all-through")
    need_type = _canonical(row.get("need_type", ""), tuple(NEED_TYPES))
    if not need_type:
        why.append(f"need_type {row.get('need_type', '')!r} should be a DfE code such as ASD or SEMH")
    provision = _canonical(row.get("provision_type", ""), PROVISIONS)
    if not provision:
        why.append(f"provision_type {row.get('provision_type', '')!r} should be resourced or partnership")
    places = row.get("places", "")
    if not places.isdecimal() or not 1 <= int(places) <= 500:
        why.append(f"places {places!r} should be a whole number from 1 to 500")
    priority = _canonical(row.get("priority", ""), ("high", "medium", "low"))
    if not priority:
        why.append(f"priority {row.get('priority', '')!r} should be high, medium or low")
    if why:
        return None, why
    return {
        "quadrant": quadrant,
        "district": district,
        "phase": phase,
        "need_type": need_type,
        "provision_type": provision,
        "places": int(places),
        "priority": priority,
        "notes": row.get("notes", ""),
    }, []


async def import_need(
    session: AsyncSession, text: str | Iterable[str], *, window: Window, actor: str, now: datetime
) -> ImportResult:
    """Replace the window's identified need in one transaction."""
    result = ImportResult()
    rows = []
    too_many = (
        f"there are only {MOST_NEED_ROWS:,} different quadrant or district, phase, need type and provision "
        "combinations to say a need for"
    )
    for line, row in _read_csv(text, NEED_COLUMNS, result, most=MOST_NEED_ROWS, what=too_many):
        need, why = _need_from(row)
        if why and _enough_problems(result, line):
            break
        if why:
            result.problems.append(f"line {line}: " + "; ".join(why))
        else:
            rows.append(need)
    if result.problems:
        return result
    await session.execute(delete(NeedRow).where(NeedRow.window_id == window.id))
    # Every process's copy of the old rows is now out of date (storage.windows). Raised in SQL, not from the value
    # this session read, so two imports at once end two apart, never both at the same number.
    await session.execute(
        update(Window)
        .where(Window.id == window.id)
        .values(need_version=Window.need_version + 1)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(window, attribute_names=["need_version"])
    for need in rows:
        session.add(NeedRow(window_id=window.id, imported_at=now, imported_by=actor, **need))
    audit.record(session, at=now, actor=actor, action="import need", note=f"{len(rows)} rows for window {window.id}")
    await session.commit()
    result.rows = len(rows)
    return result


async def school(session: AsyncSession, urn: str) -> School | None:
    return await session.get(School, urn)
