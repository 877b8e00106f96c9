"""The fictional demo register, need and a window open now (`eoi-bot seed --demo`)."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import School, Window
from storage.register import NEED_COLUMNS, SCHOOL_COLUMNS, import_need, import_schools
from storage.vocabulary import QUADRANTS
from storage.windows import LONDON

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


def demo_need_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NEED_COLUMNS)
    writer.writerows(NEED)
    return out.getvalue()


def demo_window(now: datetime) -> Window:
    local = now.astimezone(LONDON)
    start_year = local.year if local.month >= 8 else local.year - 1
    term = "autumn1" if local.month >= 8 or local.month == 1 else "spring2"
    opens = (local - timedelta(days=14)).replace(hour=9, minute=0, second=0, microsecond=0)
    closes = (local + timedelta(days=28)).replace(hour=17, minute=0, second=0, microsecond=0)
    return Window(
        academic_year=f"{start_year}/{str(start_year + 1)[-2:]}",
        term=term,
        opens_at=opens,
        closes_at=closes,
        eoi_counter=0,
    )


async def is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(School))


async def seed_demo(session: AsyncSession, *, now: datetime, actor: str = "seed") -> str:
    schools = await import_schools(session, demo_schools_csv(), actor=actor, now=now)
    assert schools.ok, schools.problems
    window = demo_window(now)
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
    return (
        f"Seeded {schools.rows} demo schools, {need.rows} need rows and a window open until "
        f"{window.closes_at.astimezone(LONDON):%-d %B %Y %H:%M}."
    )
