"""Submission windows and who is in scope of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ScalarSelect, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import NEED_CACHE, hold
from storage.models import EOI, NeedRow, School, Window

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


# Built once: nearly every turn runs them (a statement's building and hashing cost about as much as its run).
_IS_OPEN_NOW = (Window.cancelled_at.is_(None), Window.opens_at <= bindparam("now"), Window.closes_at > bindparam("now"))
_OPEN_WINDOW = select(Window).where(*_IS_OPEN_NOW).order_by(Window.opens_at).limit(1)


def open_window_id() -> ScalarSelect[int]:
    """The id of the window open at the bound parameter `now`, as a subquery (storage.eois reads it with the
    school's EOIs in one statement)."""
    return select(Window.id).where(*_IS_OPEN_NOW).order_by(Window.opens_at).limit(1).scalar_subquery()


_NEED_FOR = select(NeedRow).where(NeedRow.window_id == bindparam("window_id")).order_by(NeedRow.id)


async def open_window(session: AsyncSession, now: datetime) -> Window | None:
    return await session.scalar(_OPEN_WINDOW, {"now": now})


async def next_window(session: AsyncSession, now: datetime) -> Window | None:
    return await session.scalar(
        select(Window).where(Window.cancelled_at.is_(None), Window.opens_at > now).order_by(Window.opens_at).limit(1)
    )


async def window_after(session: AsyncSession, window: Window) -> Window | None:
    """The window planned after this one closes (windows never overlap): where a draft left unsubmitted at its
    close moves when the school next uses the bot (storage.eois.school_eoi)."""
    return await session.scalar(
        select(Window)
        .where(Window.cancelled_at.is_(None), Window.id != window.id, Window.opens_at >= window.closes_at)
        .order_by(Window.opens_at)
        .limit(1)
    )


async def current_or_next(session: AsyncSession, now: datetime) -> Window | None:
    """The window a draft belongs to: the open one, else the next one planned."""
    window = await open_window(session, now) or await next_window(session, now)
    if window is not None:
        hold(session, window)  # a turn looks it up again by id (session.get) after the caller lets go
    return window


async def find_window(session: AsyncSession, text: str) -> Window | None:
    """By code ("2627A"), id, or name ("Autumn Term 1 2026/27")."""
    wanted = text.strip().casefold()
    for window in await all_windows(session):
        if wanted in (window_code(window).casefold(), str(window.id), window_name(window).casefold()):
            return window
    return None


def covers(need: NeedRow | Need, school: School) -> bool:
    place_ok = need.district == school.district if need.district else need.quadrant == school.quadrant
    phase_ok = need.phase == school.phase or "all-through" in (need.phase, school.phase)
    return place_ok and phase_ok


async def need_for(session: AsyncSession, window: Window) -> list[NeedRow]:
    return list(await session.scalars(_NEED_FOR, {"window_id": window.id}))


@dataclass(frozen=True)
class Need:
    """A need row as a turn reads it, kept in memory between turns (`need_in_scope`)."""

    quadrant: str
    district: str
    phase: str
    need_type: str
    provision_type: str
    places: int
    priority: str


async def need_in_scope(session: AsyncSession, window: Window, school: School) -> list[Need]:
    """The need rows that put this school in scope of the window (empty: not in scope). Nearly every dialog turn
    asks, so each process keeps a window's need in memory under its `need_version`, which every need import
    raises in the same transaction as it replaces the rows: read with the window, it says when to read again."""
    cache: dict[tuple[int, int], tuple[Need, ...]] | None = session.info.get(NEED_CACHE)
    key = (window.id, window.need_version)
    need = cache.get(key) if cache is not None else None
    if need is None:
        need = tuple(
            Need(n.quadrant, n.district, n.phase, n.need_type, n.provision_type, n.places, n.priority)
            for n in await need_for(session, window)
        )
        if cache is not None:
            for old in [k for k in cache if k[0] == window.id]:
                del cache[old]
            cache[key] = need
    return [n for n in need if covers(n, school)]


def need_key(need: NeedRow | Need) -> str:
    """Stable across re-imports of the same need, so a stored answer keeps meaning."""
    return f"{need.need_type}/{need.provision_type}/{need.district or need.quadrant}/{need.phase}"


class WindowRefused(Exception):
    """A window change the rules don't allow; the message says why."""


async def overlapping(
    session: AsyncSession, opens: datetime, closes: datetime, *, ignore: int | None = None
) -> Window | None:
    query = select(Window).where(Window.cancelled_at.is_(None), Window.opens_at < closes, Window.closes_at > opens)
    if ignore is not None:
        query = query.where(Window.id != ignore)
    return await session.scalar(query.limit(1))


async def may_add(
    session: AsyncSession, *, academic_year: str, term: str, opens: datetime, closes: datetime
) -> Window | None:
    """Raises WindowRefused if this window can't be added; else the cancelled window it brings back, if any. Asked
    before an officer is asked to confirm the dates, so they never confirm what is then refused."""
    if closes <= opens:
        raise WindowRefused("A window must close after it opens.")
    existing = await session.scalar(select(Window).where(Window.academic_year == academic_year, Window.term == term))
    if existing and existing.cancelled_at is None:
        raise WindowRefused(f"{window_name(existing)} already exists ({window_code(existing)}); use `window change`.")
    clash = await overlapping(session, opens, closes, ignore=existing.id if existing else None)
    if clash:
        raise WindowRefused(f"It would overlap {window_name(clash)} ({window_code(clash)}); windows never overlap.")
    return existing


async def add_window(
    session: AsyncSession,
    *,
    academic_year: str,
    term: str,
    opens: datetime,
    closes: datetime,
    actor: str,
    now: datetime,
) -> Window:
    from storage import audit

    existing = await may_add(session, academic_year=academic_year, term=term, opens=opens, closes=closes)
    if existing:  # re-adding a cancelled window brings it back with the new dates
        window = existing
        window.opens_at, window.closes_at, window.cancelled_at = opens, closes, None
        window.announced_at = window.reminded_7_at = window.reminded_1_at = window.summarised_at = None
    else:
        window = Window(
            academic_year=academic_year, term=term, opens_at=opens, closes_at=closes, eoi_counter=0, created_by=actor
        )
        session.add(window)
    await session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="window add",
        note=f"{window_name(window)}: {opens.isoformat()} to {closes.isoformat()}",
    )
    return window


async def change_window(
    session: AsyncSession,
    window: Window,
    *,
    opens: datetime | None,
    closes: datetime | None,
    actor: str,
    now: datetime,
) -> None:
    """Before it opens: any dates. While open: only the close (early or extended). Afterwards: nothing."""
    from storage import audit

    new_opens, new_closes = await may_change(session, window, opens=opens, closes=closes, now=now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="window change",
        note=f"{window_name(window)}: {new_opens.isoformat()} to {new_closes.isoformat()}",
    )
    if new_closes != window.closes_at:
        # New closing date: the reminders are due again relative to it.
        window.reminded_7_at = window.reminded_1_at = None
    window.opens_at, window.closes_at = new_opens, new_closes


async def may_change(
    session: AsyncSession, window: Window, *, opens: datetime | None, closes: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """Raises WindowRefused if the window can't take these dates; else its opening and close after the change."""
    if window.cancelled_at is not None:
        raise WindowRefused(f"{window_name(window)} is cancelled.")
    if window.closes_at <= now:
        raise WindowRefused(f"{window_name(window)} has already closed.")
    if window.opens_at <= now and opens is not None and opens != window.opens_at:
        raise WindowRefused(f"{window_name(window)} is open, so only its closing time can change.")
    new_opens, new_closes = opens or window.opens_at, closes or window.closes_at
    if new_closes <= new_opens:
        raise WindowRefused("A window must close after it opens.")
    if window.opens_at <= now and new_closes <= now:
        raise WindowRefused("To close it now, give a time a little ahead, e.g. `closes today 5pm`.")
    clash = await overlapping(session, new_opens, new_closes, ignore=window.id)
    if clash:
        raise WindowRefused(f"It would overlap {window_name(clash)} ({window_code(clash)}).")
    return new_opens, new_closes


async def cancel_window(session: AsyncSession, window: Window, *, actor: str, now: datetime) -> None:
    from storage import audit

    if window.cancelled_at is not None:
        raise WindowRefused(f"{window_name(window)} is already cancelled.")
    if window.closes_at <= now:
        raise WindowRefused(f"{window_name(window)} has already closed; it can't be cancelled.")
    window.cancelled_at = now
    audit.record(session, at=now, actor=actor, action="window cancel", note=window_name(window))


async def schools_in_scope(session: AsyncSession, window: Window) -> list[tuple[School, list[NeedRow]]]:
    need = await need_for(session, window)
    result = []
    for school in await session.scalars(select(School).order_by(School.urn)):
        rows = [n for n in need if covers(n, school)]
        if rows:
            result.append((school, rows))
    return result


async def eois_in(session: AsyncSession, window: Window) -> list[tuple[EOI, School]]:
    """Every EOI in the window, whatever its state, with its school, by school then reference."""
    rows = await session.execute(
        select(EOI, School)
        .join(School, School.urn == EOI.school_urn)
        .where(EOI.window_id == window.id)
        .order_by(School.urn, EOI.ref, EOI.id)
    )
    return [(eoi, school) for eoi, school in rows]
