"""The schedule's lease: one holder per database schema on PostgreSQL, handed on when the holder lets go or its
connection dies; on SQLite the one process always holds it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from storage.db import Database
from storage.scheduler_lease import SchedulerLease


async def test_one_process_holds_the_schedule_and_another_takes_it_when_it_lets_go(test_db):
    db = await test_db.create()
    # A second process's connections, to the same schema.
    other = Database(test_db.url, schema=test_db.schema) if test_db.backend == "postgres" else Database(test_db.url)
    first, second = SchedulerLease(db), SchedulerLease(other)
    try:
        assert await first.held()
        if test_db.backend == "sqlite":
            assert await second.held()  # one process at a time uses SQLite: it always runs the schedule
            return
        assert not await second.held()
        assert await first.held()  # kept while its connection lives
        await first.release()
        assert await second.held()
        assert not await first.held()
        # The holder's connection dies (its process killed, its host gone): the server drops the lock with it.
        assert second._held is not None
        backend_pid = await second._held.scalar(text("SELECT pg_backend_pid()"))
        await second._held.commit()
        async with db.engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
        for _ in range(100):  # the server ends the backend a moment after it is asked to
            if await first.held():
                break
            await asyncio.sleep(0.02)
        assert await first.held()
        assert not await second.held()  # it notices its connection is gone, and finds the lock taken
    finally:
        await first.release()
        await second.release()
        await other.dispose()
        await db.dispose()
