"""The fictional demo register and need (`eoi-bot seed --demo`; dialogs/demo.py chooses the window)."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import School, Window
from storage.register import NEED_COLUMNS, SCHOOL_COLUMNS, import_need, import_schools
from storage.vocabulary import QUADRANTS

# Fictional names: any resemblance to a real Essex school is accidental.
PREFIXES = (
    "Oakfield",
    "Riverside",
    "St Cedd's",
    "Meadow",
    "Kingsway",
    "Hillcrest",
    "Brookside",
    "Elmwood",
    "Greenfields",
    "Harbour",
    "Willow",
    "Beacon",
    "Foxley",
    "Larkrise",
    "Orchard",
    "Millbrook",
)
NEED = [
    # quadrant, district, phase, need, provision, places, priority, notes
    ("North East", "Colchester", "primary", "ASD", "resourced", 16, "high", "Rising EHCP numbers in the town"),
    ("North East", "", "secondary", "SEMH", "partnership", 12, "high", "Exclusions above the county average"),
    ("Mid", "Chelmsford", "primary", "SLCN", "resourced", 10, "medium", ""),
    ("Mid", "", "secondary", "ASD", "resourced", 20, "high", "No secondary ASD places in Maldon"),
    ("South", "Basildon", "primary", "SEMH", "partnership", 8, "high", ""),
    ("South", "", "secondary", "MLD", "resourced", 12, "medium", ""),
    ("West", "Harlow", "primary", "ASD", "resourced", 12, "high", ""),
    ("West", "Uttlesford", "secondary", "HI", "resourced", 6, "low", "Rural travel distances"),
]


def demo_schools_csv() -> str:
    rng = random.Random(2026)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SCHOOL_COLUMNS)
    urn = 114000
    for quadrant, districts in QUADRANTS.items():
        for district in districts:
            for i, prefix in enumerate(rng.sample(PREFIXES, 5)):  # no two alike in a district
                phase = "secondary" if i in (3, 4) else "primary"
                name = f"{prefix} {'Academy' if phase == 'secondary' else 'Primary School'}, {district}"
                slug = f"head{urn}"
                writer.writerow(
                    [urn, name, phase, quadrant, district, f"Head Teacher {urn}", f"{slug}@demo-school.example", "", ""]
                )
                urn += 1
    return out.getvalue()


def _national_register_facts(school: School) -> None:
    """What the national register would say of a demo school (storage.national_register): its primaries are
    community schools; its secondaries academies, each in a (fictional) trust, whose heads are asked for the
    trust's sign-off."""
    if school.establishment_group:
        return  # imported from the national register: as it says
    rng = random.Random(school.urn)
    secondary = school.phase == "secondary"
    school.establishment_type = "Academy converter" if secondary else "Community school"
    school.establishment_group = "Academies" if secondary else "Local authority maintained schools"
    school.trust = f"{school.district} Learning Trust" if secondary else ""
    school.statutory_low_age, school.statutory_high_age = (11, 16) if secondary else (4, 11)
    school.capacity = rng.choice((900, 1050, 1200)) if secondary else rng.choice((210, 315, 420))
    school.pupils = school.capacity - rng.randint(0, school.capacity // 10)
    school.la_code = "881"


def demo_need_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NEED_COLUMNS)
    writer.writerows(NEED)
    return out.getvalue()


async def is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(School))


async def seed_register(
    session: AsyncSession, *, window: Window, now: datetime, actor: str = "seed"
) -> tuple[str, Window]:
    """The demo register and need, in `window` (dialogs.demo chooses its dates from the term calendar), or in the
    window already recorded for its year and term. Returns what was seeded, and the window."""
    schools = await import_schools(session, demo_schools_csv(), actor=actor, now=now)
    assert schools.ok, schools.problems
    for school in (await session.scalars(select(School))).all():
        _national_register_facts(school)
    existing = await session.scalar(
        select(Window).where(Window.academic_year == window.academic_year, Window.term == window.term)
    )
    if existing is None:
        session.add(window)
        audit.record(session, at=now, actor=actor, action="window add", note="demo window")
        await session.commit()
    else:
        window = existing
    need = await import_need(session, demo_need_csv(), window=window, actor=actor, now=now)
    assert need.ok, need.problems
    return f"Seeded {schools.rows} demo schools, {need.rows} need rows", window
