"""Submission windows and who is in scope of them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import NeedRow, School, Window

LONDON = ZoneInfo("Europe/London")
TERMS = {"autumn1": "Autumn Term 1", "spring2": "Spring Term 2"}


def window_name(window: Window) -> str:
    return f"{TERMS.get(window.term, window.term)} {window.academic_year}"


def window_code(window: Window) -> str:
    """ "2626/27" Autumn Term 1 -> "2627A": the middle of every EOI reference."""
    start, end = window.academic_year.split("/")
    return f"{start[-2:]}{end[-2:]}{'A' if window.term == 'autumn1' else 'S'}"


def is_open(window: Window, now: datetime) -> bool:
    return window.cancelled_at is None and window.opens_at <= now < window.closes_at


async def all_windows(session: AsyncSession) -> list[Window]:
    return list(await session.scalars(select(Window).order_by(Window.opens_at)))


async def open_window(session: AsyncSession, now: datetime) -> Window | None:
    return await session.scalar(
        select(Window)
        .where(Window.cancelled_at.is_(None), Window.opens_at <= now, Window.closes_at > now)
        .order_by(Window.opens_at)
        .limit(1)
    )


async def next_window(session: AsyncSession, now: datetime) -> Window | None:
    return await session.scalar(
        select(Window).where(Window.cancelled_at.is_(None), Window.opens_at > now).order_by(Window.opens_at).limit(1)
    )


async def current_or_next(session: AsyncSession, now: datetime) -> Window | None:
    """The window a draft belongs to: the open one, else the next one planned."""
    return await open_window(session, now) or await next_window(session, now)


async def find_window(session: AsyncSession, text: str) -> Window | None:
    """By code ("2627A"), id, or name ("Autumn Term 1 2026/27")."""
    wanted = text.strip().casefold()
    for window in await all_windows(session):
        if wanted in (window_code(window).casefold(), str(window.id), window_name(window).casefold()):
            return window
    return None


def covers(need: NeedRow, school: School) -> bool:
    place_ok = need.district == school.district if need.district else need.quadrant == school.quadrant
    phase_ok = need.phase == school.phase or "all-through" in (need.phase, school.phase)
    return place_ok and phase_ok


async def need_for(session: AsyncSession, window: Window) -> list[NeedRow]:
    return list(await session.scalars(select(NeedRow).where(NeedRow.window_id == window.id).order_by(NeedRow.id)))


async def need_in_scope(session: AsyncSession, window: Window, school: School) -> list[NeedRow]:
    """The need rows that put this school in scope of the window (empty: not in scope)."""
    return [n for n in await need_for(session, window) if covers(n, school)]


def need_key(need: NeedRow) -> str:
    """Stable across re-imports of the same need, so a stored answer keeps meaning."""
    return f"{need.need_type}/{need.provision_type}/{need.district or need.quadrant}/{need.phase}"
