"""Handle each platform delivery once: Slack retries events, Teams may redeliver an activity."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import ProcessedEvent

# Every turn runs it: built once, and a plain INSERT (no unit of work for one row the turn never reads again).
_RECORD = insert(ProcessedEvent.__table__)


async def record(session: AsyncSession, key: str, now: datetime) -> bool:
    """Record `key` in the session's transaction, committed with the turn's changes: False (and nothing
    recorded) if it was recorded before, by this process or another. Inserting is the check: a key seen before
    breaks the unique constraint (one statement, not two)."""
    try:
        await session.execute(_RECORD, {"key": key[:300], "at": now})
    except IntegrityError:
        return False
    return True


async def first_time(db: Database, key: str, now: datetime) -> bool:
    """True the first time `key` (e.g. "slack:Ev123", "msteams:<activity id>") is seen, False after.

    The insert is its own transaction so two replicas racing on the same event agree on one winner.
    """
    async with db.session() as session:
        if not await record(session, key, now):
            return False
        await session.commit()
    return True


async def forget_older_than(db: Database, now: datetime, days: int = 7) -> int:
    async with db.session() as session:
        result = await session.execute(delete(ProcessedEvent).where(ProcessedEvent.at < now - timedelta(days=days)))
        await session.commit()
        return result.rowcount or 0
