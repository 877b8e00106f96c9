"""Chasing the schools that haven't answered a window: the in-scope schools with no EOI in it, the drafts not
submitted, when each school was last told, and a reminder sent now (`nudge`), at most once a school a day.

The once-a-day rule is the notice's key (`nudge:URN:DAY`, the London day), so two officers nudging the same
school at the same moment record one nudge, on SQLite and PostgreSQL alike (storage.notices.plan)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, notices
from storage.lifecycle import DRAFT
from storage.models import EOI, Delivery, Notice, School, Window
from storage.windows import LONDON, eois_in, schools_in_scope

NUDGE = "nudge"  # the notice's kind, as deliveries and the audit name it
# What tells a school about a window: its announcement, the closing reminders, and officers' nudges.
TOLD_KINDS = ("announcement", "reminder", NUDGE)


@dataclass(frozen=True)
class YetToSubmit:
    """A school that hasn't put anything forward in a window: in scope with no EOI there (no drafts), or holding
    drafts there (whatever else it has submitted)."""

    school: School
    drafts: tuple[EOI, ...] = ()


@dataclass(frozen=True)
class LastTold:
    at: datetime
    kind: str  # one of TOLD_KINDS


async def yet_to_submit(session: AsyncSession, window: Window) -> tuple[list[YetToSubmit], list[YetToSubmit]]:
    """(not started, with drafts) in `window`: the schools in scope with no EOI in it at all (one withdrawn counts
    as an answer), by URN; and every school with a draft in it, in scope or not, by reference."""
    held: dict[str, list[EOI]] = {}
    schools: dict[str, School] = {}
    for eoi, school in await eois_in(session, window):
        held.setdefault(school.urn, []).append(eoi)
        schools[school.urn] = school
    not_started = [YetToSubmit(s) for s, _ in await schools_in_scope(session, window) if s.urn not in held]
    drafts = [
        YetToSubmit(schools[urn], tuple(e for e in found if e.status == DRAFT))
        for urn, found in held.items()
        if any(e.status == DRAFT for e in found)
    ]
    return not_started, sorted(drafts, key=lambda y: y.drafts[0].ref or "")


async def standing(session: AsyncSession, window: Window, school: School) -> list[EOI]:
    """The school's EOIs in `window`, oldest first."""
    return list(
        await session.scalars(
            select(EOI).where(EOI.school_urn == school.urn, EOI.window_id == window.id).order_by(EOI.id)
        )
    )


async def last_told(session: AsyncSession, window: Window, urns: Iterable[str]) -> dict[str, LastTold]:
    """When each school was last told about `window` (its announcement, a reminder or a nudge delivered to any of
    its destinations, the console's outbox included), by URN; schools never told are left out."""
    wanted = list(urns)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Notice.school_urn, Notice.kind, Delivery.sent_at)
        .join(Delivery, Delivery.notice_id == Notice.id)
        .where(
            Notice.window_id == window.id,
            Notice.audience == "school",
            Notice.kind.in_(TOLD_KINDS),
            Notice.school_urn.in_(wanted),
            Delivery.status == "sent",
            Delivery.sent_at.is_not(None),
        )
        .order_by(Delivery.sent_at, Delivery.id)
    )
    return {urn: LastTold(at, kind) for urn, kind, at in rows if urn is not None and at is not None}


def london_day(now: datetime) -> date:
    return now.astimezone(LONDON).date()


def nudge_key(urn: str, day: date) -> str:
    return f"{NUDGE}:{urn}:{day.isoformat()}"


async def nudged_on(session: AsyncSession, urns: Iterable[str], day: date) -> dict[str, datetime]:
    """When each of these schools was nudged on `day` (London), by URN; those not nudged that day are left out."""
    keys = {nudge_key(urn, day): urn for urn in urns}
    if not keys:
        return {}
    rows = await session.execute(select(Notice.key, Notice.created_at).where(Notice.key.in_(list(keys))))
    return {keys[key]: at for key, at in rows if key in keys}


async def nudge(
    session: AsyncSession,
    school: School,
    *,
    window: Window,
    body: dict[str, Any],
    actor: str,
    now: datetime,
    about: str,
    eoi_id: int | None = None,
) -> datetime | None:
    """Remind the school now (a notice for its destinations, delivered by the dispatcher), audited with `about`
    (what it had left to do). None when it is sent; else the time of the nudge it already had today, and nothing
    is recorded."""
    day = london_day(now)
    planned = await notices.plan(
        session,
        key=nudge_key(school.urn, day),
        audience="school",
        kind=NUDGE,
        body=body,
        now=now,
        school_urn=school.urn,
        eoi_id=eoi_id,
        window_id=window.id,
    )
    if planned is None:
        earlier = await nudged_on(session, [school.urn], day)
        return earlier.get(school.urn, now)
    audit.record(
        session, at=now, actor=actor, action="nudge", eoi_id=eoi_id, note=f"{school.urn} {school.name}: {about}"
    )
    return None
