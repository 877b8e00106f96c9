"""On SQLite a turn's statements run on the event loop's own thread (storage/sqlite_connection.py). When
another process holds the write lock (a console, or `eoi-bot announce` from cron), the turn waits for it on
aiosqlite's thread, so everyone else's turns carry on meanwhile, and its answer is then saved, not refused."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import select

from storage.db import Database
from storage.models import ProcessedEvent
from tests.conftest import NOW


async def test_a_turn_waits_for_another_processes_writer_without_holding_up_the_others(tmp_path: Path) -> None:
    path = tmp_path / "eoi-bot.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    cron = sqlite3.connect(path, isolation_level=None)  # another process: `eoi-bot announce`, say
    cron.execute("BEGIN IMMEDIATE")

    async def a_headteachers_turn() -> None:
        async with db.session() as session:
            session.add(ProcessedEvent(key="slack:Ev1", at=NOW))
            await session.commit()

    turn = asyncio.create_task(a_headteachers_turn())
    ticks = 0
    while ticks < 20:  # the event loop keeps running while the turn waits for the lock
        await asyncio.sleep(0.01)
        ticks += 1
    assert not turn.done()
    cron.execute("COMMIT")  # announce finishes
    await turn

    async with db.session() as session:
        assert await session.scalar(select(ProcessedEvent.key)) == "slack:Ev1"
    cron.close()
    await db.dispose()
