"""SQLite statements run on the event loop's own thread; only what can wait runs on aiosqlite's thread.

aiosqlite hands every call (open a cursor, execute, fetch, close: about four per statement) to its worker thread
and back, each a queue put, a GIL hand-over and a wake-up of the event loop through its self-pipe. In profiles
that was a third of a SQLite turn's CPU. A statement on a local SQLite file inside a transaction that already
holds the write lock takes microseconds and never waits, so running it inline costs less than the hand-over.

What can wait still goes to the thread: BEGIN IMMEDIATE (it waits up to busy_timeout for another process's
writer, such as `eoi-bot announce` from cron), COMMIT (it may fsync and checkpoint the WAL), ROLLBACK and
closing. The event loop never blocks on another process or the disk; durability is unchanged (the commit is
awaited before a reply is sent, as before). Only one coroutine uses a connection at a time (SQLAlchemy's pool
and storage.db's FIFO of sessions), so the sqlite3 connection is never used from two threads at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite

BUSY_TIMEOUT_MS = 5000  # how long BEGIN waits for another process's writer (storage.db's connect pragma)


def _statement(args: tuple[Any, ...]) -> str:
    return args[0].lstrip()[:8].upper() if args and isinstance(args[0], str) else ""


def _on_thread(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    """COMMIT (it may fsync and checkpoint), executescript and closing the connection: on the thread."""
    name = getattr(fn, "__name__", "")
    if name in ("commit", "executescript", "close"):
        return isinstance(getattr(fn, "__self__", None), sqlite3.Connection)  # a cursor's close is inline
    return name in ("execute", "executemany") and _statement(args).startswith(("COMMIT", "END"))


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run inline; COMMIT and close on its thread, and BEGIN there
    too whenever another process holds the write lock."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection or _on_thread(fn, args):
            return await super()._execute(fn, *args, **kwargs)
        if getattr(fn, "__name__", "") == "execute" and _statement(args).startswith("BEGIN"):
            return await self._begin(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    async def _begin(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """BEGIN IMMEDIATE inline if the write lock is free now (nearly always: this process's sessions take
        turns); if another process holds it, wait for it on the thread, as long as busy_timeout allows."""
        conn = self._conn
        conn.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return await super()._execute(fn, *args, **kwargs)


def creator(database: str, options: dict[str, Any]) -> Callable[[], Any]:
    """For `create_async_engine(async_creator=...)`: a new InlineConnection to `database` (as SQLAlchemy's
    pysqlite dialect would open it, `options` from its create_connect_args), usable from the loop's thread."""
    options = {**options, "check_same_thread": False}

    async def connect() -> InlineConnection:
        connection = InlineConnection(partial(sqlite3.connect, database, **options), iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy's aiosqlite dialect does: never hold up exit
        return await connection

    return connect
