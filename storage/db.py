"""Engine, sessions and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import os
import traceback
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_connection

MIGRATIONS = Path(__file__).with_name("migrations")
PRIVATE_FILE, PRIVATE_FOLDER = 0o600, 0o700  # the database holds personal data: this account only
NEED_CACHE = "need by window"  # in every session's info: {(window id, need_version): need}, storage.windows


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


class SchemaMismatch(ValueError):
    """The database's tables differ from this build's models. A ValueError, like a bad setting: the CLI prints
    it and exits without starting."""


def _upgrade(connection: Connection) -> None:
    """Upgrade to the newest revision, then check that the tables are what the models expect. A database made
    by an earlier build whose migration was later edited is recorded as current but lacks what the edit
    added: it is refused here, with the upgrade rolled back, rather than failing later in a user's turn."""
    revision = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(alembic_config(connection), "head")
    if revision is None:
        return  # just made by these migrations, which the tests compare with the models: nothing to check
    differences = schema_differences(connection)
    if differences:
        listed = "\n".join(f"  - {difference}" for difference in differences)
        raise SchemaMismatch(
            f"the database's tables do not match this version of eoi-bot (it was at migration {revision}):\n"
            f"{listed}\n"
            "This happens when a database was made by an earlier build whose migration was changed afterwards. "
            "eoi-bot has not started and has changed nothing. Back up the database, then either add the missing "
            "parts by hand (or ask for a migration revision that repairs them), or start on a new, empty database "
            "(DATABASE_URL) and import the schools and need again."
        )


def schema_differences(connection: Connection) -> list[str]:
    """How the database's tables differ from the models (alembic's autogenerate comparison), in words. Tables
    that are not ours and indexes added for speed do not count: they break nothing."""
    from storage.models import Base  # the models import nothing from here; imported late all the same

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    found: list[str] = []
    for difference in compare_metadata(context, Base.metadata):
        described = _describe(difference)
        if described:
            found.append(described)
    return found


def _describe(difference: Any) -> str:
    if isinstance(difference, list):  # column changes come as a list of ("modify_...", ...) tuples
        return "; ".join(
            f"column {d[2]}.{d[3]}: {d[0].removeprefix('modify_')} is {d[5]!s}, expected {d[6]!s}" for d in difference
        )
    kind, subject = difference[0], difference[-1]
    if kind == "remove_table" or (kind == "remove_index" and not subject.unique):
        return ""
    if kind == "add_table":
        return f"table {subject.name} is missing"
    if kind in ("add_column", "remove_column"):
        state = "is missing" if kind == "add_column" else "is not in this version's models"
        return f"column {difference[2]}.{subject.name} {state}"
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        what = {"add": "is missing", "remove": "is not in this version's models"}[kind.split("_")[0]]
        columns = ", ".join(c.name for c in subject.columns)
        name = type(subject).__name__.replace("Constraint", " constraint").replace("ForeignKey", "foreign key")
        return f"{name.lower()} on {subject.table.name}({columns}) {what}"
    return repr(difference)


class Database:
    """One engine and session factory per process."""

    def __init__(self, url: str, *, schema: str | None = None, **engine_args: Any) -> None:
        self.url = url
        connect_args: dict[str, Any] = {}
        if url.startswith("postgresql"):
            # Concurrent turns each hold a connection until they commit; with SQLAlchemy's default of 5 kept (and
            # 10 more made and closed as needed) a flat-out run connected and closed all the time: asyncpg's
            # set-up queries and statement preparation again each time.
            engine_args.setdefault("pool_size", 20)
            engine_args.setdefault("max_overflow", 10)
            # Named in pg_stat_activity, so a DBA sees whose connections these are (a test's, by its schema).
            settings = {"application_name": f"eoi-bot:{schema}" if schema else "eoi-bot"}
            if schema:  # tests run each in a schema of their own; production uses the default search path
                settings["search_path"] = schema
            connect_args["server_settings"] = settings
        if url.startswith("sqlite") and "async_creator" not in engine_args:
            # Statements inline on the loop, BEGIN and COMMIT on aiosqlite's thread (storage/sqlite_connection.py),
            # opened with what SQLAlchemy's own dialect would pass to sqlite3.connect for this URL.
            engine_args["async_creator"] = lambda: sqlite_connection.creator(*self._sqlite_connect_args())()
        # hide_parameters: SQLAlchemy's errors and logs never show the values (emails, answers), only the SQL.
        self.engine: AsyncEngine = create_async_engine(
            url, connect_args=connect_args, hide_parameters=True, **engine_args
        )
        if self.engine.dialect.name == "sqlite":
            _create_private_sqlite_file(self.engine.url.database)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        # info is copied into each session, its values are not: the need cache (storage.windows) is this
        # database's, shared by its sessions, never another database's in the same process (tests, bench).
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, info={NEED_CACHE: {}})
        self._sqlite_turns: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None

    def _sqlite_connect_args(self) -> tuple[str, dict[str, Any]]:
        args, options = self.engine.dialect.create_connect_args(self.engine.url)
        return args[0], options

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """`async with db.session() as session:`. On SQLite, sessions in this process take turns (FIFO):
        SQLite has one writer at a time anyway, and queueing here is fairer and cheaper than many
        connections polling for the lock, which under load gave up with "database is locked"."""
        if self._sqlite_turns is None:
            return self.sessions()
        return self._sqlite_session()

    @contextlib.asynccontextmanager
    async def _sqlite_session(self) -> AsyncIterator[AsyncSession]:
        assert self._sqlite_turns is not None
        async with self._sqlite_turns, self.sessions() as session:
            yield session

    async def upgrade(self) -> None:
        """Create or upgrade the schema in place (Alembic); SchemaMismatch if the tables then differ from the
        models."""
        async with self.engine.begin() as conn:
            await conn.run_sync(_upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _create_private_sqlite_file(database: str | None) -> None:
    """Create a new SQLite database file (and any folders it needs) readable by this account only, before the
    driver would create it with the process umask (usually readable by everyone). SQLite gives its -wal, -shm
    and -journal files the mode of the database file itself, whatever the umask, so they are private too.
    Chosen over a process-wide umask (`os.umask(0o077)` in `main`): it holds however the database is opened
    (serve, chat, cron, tests) and changes nothing else in the process. An existing file keeps its mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists():
        return
    missing = [folder for folder in [path.parent, *path.parent.parents] if not folder.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=PRIVATE_FOLDER)
    with contextlib.suppress(FileExistsError):  # SQLite takes an empty file as a new, empty database
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (below), so the driver must not open transactions of its own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the web service and a console (or cron `announce`) share the file; busy_timeout waits
    # for a writer instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={sqlite_connection.BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    """Take the write lock at the start of every transaction. A deferred transaction that reads and then
    writes can't wait for a concurrent writer (SQLite answers "database is locked" at once, to avoid a
    deadlock); an immediate one waits its turn under busy_timeout. Writers queue instead of failing."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def failure_report(error: BaseException) -> str:
    """A failed turn, for the log: each exception's type and where it was raised, and for a database error its
    SQL (placeholders, never values) and SQLSTATE; no exception's message, since drivers repeat the values they
    refused in theirs (PostgreSQL: 'invalid input syntax for type integer: "head@school…"', 'Key (…)=(…)')."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        what = type(current).__qualname__
        if isinstance(current, StatementError):
            code = getattr(current.orig, "sqlstate", None) or getattr(current.orig, "sqlite_errorname", None)
            what += f" ({type(current.orig).__name__}{', ' + str(code) if code else ''}) in: {current.statement}"[:600]
        parts.append(f"{what}\n{''.join(traceback.format_tb(current.__traceback__))}".rstrip())
        current = current.__cause__ or current.__context__
    return "\n(caused by) ".join(parts)


def hold(session: AsyncSession, obj: object) -> None:
    """Keep `obj` alive for as long as the session: its identity map holds objects only weakly, so a turn
    that lets go of a row and later asks for it by id (session.get) would otherwise query it again."""
    session.info.setdefault("held", []).append(obj)


async def insert_new(session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert rows, keeping the existing row wherever the unique `key` is already recorded: planning the same
    notices or deliveries twice (a restart, a second replica) never doubles a message."""
    if not rows:
        return
    insert = pg_insert if session.bind and session.bind.dialect.name == "postgresql" else sqlite_insert
    columns = {column for row in rows for column in row}
    rows = [{column: row.get(column) for column in columns} for row in rows]  # one multi-row INSERT shape
    for start in range(0, len(rows), 500):
        await session.execute(
            insert(model).values(rows[start : start + 500]).on_conflict_do_nothing(index_elements=["key"])
        )
