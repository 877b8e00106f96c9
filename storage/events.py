"""Handle each platform delivery once: Slack retries events, Teams may redeliver an activity."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import ProcessedEvent


async def first_time(db: Database, key: str, now: datetime) -> bool:
    """True the first time `key` (e.g. "slack:Ev123", "msteams:<activity id>") is seen, False after.

    The insert is its own transaction so two replicas racing on the same event agree on one winner.
    """
    async with db.session() as session:
        session.add(ProcessedEvent(key=key[:300], at=now))
        try:
            await session.commit()
        except IntegrityError:
            return False
    return True


async def forget_older_than(db: Database, now: datetime, days: int = 7) -> int:
    async with db.session() as session:
        result = await session.execute(delete(ProcessedEvent).where(ProcessedEvent.at < now - timedelta(days=days)))
        await session.commit()
        return result.rowcount or 0
