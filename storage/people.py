"""People, their roles, and how a chat user is matched to a school."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.db import hold
from storage.models import Person, School
from storage.register import school_by_email

OFFICER = "officer"
HEADTEACHER = "headteacher"


async def identify(
    session: AsyncSession,
    *,
    platform: str,
    user_id: str,
    display_name: str = "",
    email: str = "",
    officers: tuple[tuple[str, str], ...] = (),
) -> Person:
    """Find or create the person; bootstrap officers from EOI_OFFICERS; match staff to a school by email."""
    # The person's school comes in the same query: nearly every turn needs it (session.get(School, urn)).
    row = (
        await session.execute(
            select(Person, School)
            .outerjoin(School, School.urn == Person.school_urn)
            .where(Person.platform == platform, Person.user_id == user_id)
        )
    ).first()
    person = row[0] if row else None
    if row and row[1] is not None:
        hold(session, row[1])
    if person is None:
        person = Person(platform=platform, user_id=user_id, pending={})
        session.add(person)
    if display_name:
        person.display_name = display_name
    if email:
        person.email = email.strip().lower()
    if (platform, user_id) in officers:
        person.role = OFFICER
    elif not person.role and person.email:
        school = await school_by_email(session, person.email)
        if school:
            person.role, person.school_urn = HEADTEACHER, school.urn
    await session.flush()
    return person


async def set_role(
    session: AsyncSession, *, actor: str, platform: str, user_id: str, role: str, school_urn: str | None, now: datetime
) -> Person:
    person = await identify(session, platform=platform, user_id=user_id)
    before = person.role or "none"
    person.role, person.school_urn = role, school_urn
    audit.record(
        session,
        at=now,
        actor=actor,
        action="set role",
        from_status=before,
        to_status=role or "none",
        note=f"{platform}:{user_id}" + (f" school {school_urn}" if school_urn else ""),
    )
    return person


async def officers(session: AsyncSession) -> list[Person]:
    return list(await session.scalars(select(Person).where(Person.role == OFFICER).order_by(Person.id)))


async def staff_of(session: AsyncSession, school_urn: str) -> list[Person]:
    return list(await session.scalars(select(Person).where(Person.school_urn == school_urn).order_by(Person.id)))
