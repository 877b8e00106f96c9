"""Which process runs the schedule (announcements, reminders, milestones, follow-ups, retention): one per deployment,
however many workers or replicas serve it, so its work and its log lines happen once.

On PostgreSQL it is the holder of a session-level advisory lock, taken on a connection of its own that it keeps:
the server releases the lock the moment that connection or its process dies (a SIGKILL, a lost host), and another
process takes the lock at its next try. The lock's key names the database schema too, so deployments (and test
runs) sharing one PostgreSQL database in separate schemas don't hold each other's. On SQLite, which one process
uses at a time, the process is always the one.

Everything the schedule does is also once-only by its own keys (storage.notices.plan): the lease is about not
doing the work twice, not about correctness.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

log = logging.getLogger("eoi-bot.schedule")

# pg_try_advisory_lock(int, int): this constant ("EOIS") and a hash of the database's schema.
LOCK_CLASS = 0x454F4953
_TRY = text("SELECT pg_try_advisory_lock(:class, hashtext(current_schema()))")
_UNLOCK = text("SELECT pg_advisory_unlock(:class, hashtext(current_schema()))")


class SchedulerLease:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._held: AsyncConnection | None = None
        self.shared = db.engine.dialect.name == "postgresql"

    async def held(self) -> bool:
        """Whether this process runs the schedule now: keeps the lease while its connection lives, and tries to
        take it when it has none (the holder gone)."""
        if not self.shared:
            return True
        if self._held is not None:
            try:
                await self._held.execute(text("SELECT 1"))
                await self._held.commit()
                return True
            except Exception:  # the connection is gone, and the lock with it: try again below
                log.warning("lost the schedule's lock with its database connection; trying to take it again")
                await self._drop()
        connection = await self.db.engine.connect()
        try:
            taken = bool(await connection.scalar(_TRY, {"class": LOCK_CLASS}))
            await connection.commit()
        except Exception:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return False
        self._held = connection
        return True

    async def release(self) -> None:
        """On a clean stop: let another process take over at once rather than when this connection closes."""
        if self._held is None:
            return
        try:
            await self._held.execute(_UNLOCK, {"class": LOCK_CLASS})
            await self._held.commit()
        except Exception:  # the connection is gone already, and the lock went with it
            log.info("the schedule's lock went with its connection")
        finally:
            await self._drop()

    async def _drop(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            try:
                await held.close()
            except Exception:  # already broken: nothing to give back
                await held.invalidate()
