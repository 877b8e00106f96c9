"""A window's information session for schools (`window session CODE WHEN at WHERE`): set, moved or called off,
each audited. How many times it has changed is its calendar event's SEQUENCE, so a moved session's .ics updates
the event a school already has instead of adding another."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import AuditEntry, Window
from storage.windows import WindowRefused, window_code, window_name

SET, CANCELLED = "window session", "window session cancel"  # the audit's actions
LONGEST_PLACE = 300  # windows.session_where


def _note(window: Window, said: str) -> str:
    # The code first: how the audit's entries for one window's session are counted (`changes`).
    return f"{window_code(window)}: {said}"


def may_set(window: Window, at: datetime | None, now: datetime) -> None:
    """Raises WindowRefused when the window can't take a session (at `at`, when given): it is cancelled or closed,
    or the session would be after the close (nothing is left to explain then)."""
    if window.cancelled_at is not None:
        raise WindowRefused(f"{window_name(window)} is cancelled.")
    if window.closes_at <= now:
        raise WindowRefused(f"{window_name(window)} has already closed.")
    if at is not None and at >= window.closes_at:
        raise WindowRefused(f"An information session for {window_name(window)} must be before it closes.")


async def set_session(
    session: AsyncSession, window: Window, *, at: datetime, where: str, actor: str, now: datetime, reminded: bool
) -> None:
    """Set or move the session. `reminded`: the schools have just been told of it close enough to count as its
    reminder (else the reminder two days before the new time is planned afresh)."""
    may_set(window, at, now)
    if len(where) > LONGEST_PLACE:
        raise WindowRefused(f"Please keep the place under {LONGEST_PLACE} characters.")
    window.session_at, window.session_where = at, where
    window.session_reminded_at = now if reminded else None
    audit.record(session, at=now, actor=actor, action=SET, note=_note(window, f"{at.isoformat()} at {where}"))


async def cancel_session(session: AsyncSession, window: Window, *, actor: str, now: datetime) -> None:
    if window.session_at is None:
        raise WindowRefused(f"{window_name(window)} has no information session to cancel.")
    said = f"{window.session_at.isoformat()} at {window.session_where} cancelled"
    window.session_at, window.session_where, window.session_reminded_at = None, "", None
    audit.record(session, at=now, actor=actor, action=CANCELLED, note=_note(window, said))


async def changes(session: AsyncSession, window: Window) -> int:
    """How many times the window's session has been set, moved or cancelled (the audit's entries)."""
    await session.flush()  # a change made in this turn counts
    found = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action.in_((SET, CANCELLED)), AuditEntry.note.startswith(_note(window, "")))
    )
    return int(found or 0)
