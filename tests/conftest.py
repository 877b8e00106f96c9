"""Shared fixtures: a fresh database per test (SQLite always; PostgreSQL too when it answers), a
controllable clock, the demo data, and a Service wired as `eoi-bot serve` wires it."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.engine.interfaces import ExecuteStyle

from bot.config import TEAMS_SDKS, Settings
from bot.service import Service, wire
from dialogs.demo import seed_demo
from storage.clock import Clock
from storage.db import PRIVATE_FILE, Database

LONDON = ZoneInfo("Europe/London")
PG_URL = os.environ.get("EOI_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# A fixed "now": Monday 30 November 2026, 10:00 in London, inside the demo window.
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=LONDON)
OFFICER = ("console", "officer-1")


def _postgres_answers() -> bool:
    async def probe() -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), timeout=3)
        except Exception:
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


POSTGRES = _postgres_answers()
BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.skipif(not POSTGRES, reason="PostgreSQL not answering")),
]


class TestDatabase:
    """Creates and drops one database (SQLite file) or schema (PostgreSQL) for one test."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            self.path = tmp_path / "eoi-test.db"
            self.url = f"sqlite+aiosqlite:///{self.path}"
        else:
            self.url = PG_URL
        self.pooled = False  # a schema the migrations made, which SCHEMAS may give to the next test

    async def create(self, *, upgrade: bool = True, demo_at: datetime | None = None) -> Database:
        """The database (schema) for this test, at the newest migration unless `upgrade` is False (empty), and
        holding the demo data seeded at `demo_at` when given. Each is a copy of one this process built the
        same way once (TEMPLATES), not Alembic and the seed run again for every test; on PostgreSQL, a schema
        an earlier test of this process left as the migrations made it is reset to that copy (SCHEMAS)."""
        if demo_at is not None and not upgrade:
            raise ValueError("the demo data needs the tables: upgrade=True")
        if self.backend == "postgres" and upgrade:
            reused = await SCHEMAS.take(demo_at)
            if reused is not None:
                self.schema, self.pooled = reused, True
                return self.open()
        if self.backend == "postgres":
            import asyncpg

            conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
            await conn.execute(f'CREATE SCHEMA "{self.schema}"')
            await conn.close()
        if upgrade and not (self.backend == "sqlite" and self.path.exists()):
            await TEMPLATES.copy_into(self, demo_at)
            if self.backend == "postgres":
                self.pooled = await SCHEMAS.learn(self.schema, demo_at)
            return self.open()
        db = self.open()
        if upgrade:  # a database this test already made: brought up to date in place
            await _build(db, demo_at)
        return db

    def open(self) -> Database:
        if self.backend == "postgres":
            # Four test processes share one PostgreSQL (100 connections by default) with the scale-out test's
            # servers: a test's pool is kept to 10 (production keeps 20, and 10 more under load), so a fan-out in
            # every process at once can't run the server out of connections. More wait for one, as in production.
            return Database(self.url, schema=self.schema, pool_size=5, max_overflow=5)
        return Database(self.url)

    async def drop(self) -> None:
        if self.backend == "postgres":
            if self.pooled and await SCHEMAS.give_back(self.schema):
                return
            await _drop_schema(self.schema)


async def _drop_schema(schema: str, *, wait: str = "0") -> None:
    """Drop a test's schema; `wait` (a PostgreSQL interval) how long for a lock another connection holds on it
    ("0": as long as it takes)."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), server_settings={"lock_timeout": wait})
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


Statement = tuple[str, Any, bool]  # SQL, its parameters, executemany


class Templates:
    """Databases built once per process (so once per xdist worker) and copied for each test: at the newest
    migration, and with the demo data seeded at a given moment. Running Alembic for every test cost about
    0.1 s on SQLite and 0.5 s on PostgreSQL, the demo seed as much again. A copy holds exactly what the build
    left: on SQLite the file itself; on PostgreSQL every statement the build ran in its schema (the migrations
    and the seed name no schema, so they run the same in another), replayed in the test's own schema."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.files: dict[datetime | None, Path] = {}
        self.statements: dict[datetime | None, list[Statement]] = {}

    async def copy_into(self, test_db: TestDatabase, demo_at: datetime | None) -> None:
        if test_db.backend == "sqlite":
            template = self.files.get(demo_at) or await self._sqlite(demo_at)
            for suffix in ("", "-wal"):  # the WAL only if the build left one (closing checkpoints it)
                if Path(f"{template}{suffix}").exists():
                    shutil.copyfile(f"{template}{suffix}", f"{test_db.path}{suffix}")
                    os.chmod(f"{test_db.path}{suffix}", PRIVATE_FILE)  # as storage.db creates it
            return
        statements = self.statements.get(demo_at)
        if statements is None:
            statements = await self._postgres(demo_at)
        await _replay(test_db.schema, statements)

    async def _sqlite(self, demo_at: datetime | None) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="eoi-test-templates-"))
            atexit.register(shutil.rmtree, self.folder, True)
        path = self.folder / f"template-{len(self.files)}.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await _build(db, demo_at)
        await db.dispose()
        self.files[demo_at] = path
        return path

    async def _postgres(self, demo_at: datetime | None) -> list[Statement]:
        template = TestDatabase("postgres", Path())
        await TestDatabase.create(template, upgrade=False)  # the empty schema
        db = template.open()
        statements: list[Statement] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool) -> None:
            # Sent as one executemany only in that style; a batch of "insertmanyvalues" is one execute.
            many = context is not None and context.execute_style is ExecuteStyle.EXECUTEMANY
            statements.append((statement, parameters, many))

        # after_cursor_execute: only statements that succeeded, so a failure the build caught (and rolled back to
        # its savepoint) is not replayed; SAVEPOINT and ROLLBACK TO SAVEPOINT are statements too.
        event.listen(db.engine.sync_engine, "after_cursor_execute", record)
        try:
            await _build(db, demo_at)
        finally:
            event.remove(db.engine.sync_engine, "after_cursor_execute", record)
            await db.dispose()
            await template.drop()
        self.statements[demo_at] = _batched(statements)
        return self.statements[demo_at]


async def _build(db: Database, demo_at: datetime | None) -> None:
    await db.upgrade()
    if demo_at is not None:
        async with db.session() as session:
            await seed_demo(session, now=demo_at)


def _batched(statements: list[Statement]) -> list[Statement]:
    """The build's statements in as few round trips as say the same: the reads left out (a SELECT changes
    nothing unless it moves a sequence), statements without parameters joined into one script, and the same
    statement run again and again with new parameters sent as one executemany. About 220 round trips become 20."""
    batched: list[Statement] = []
    for statement, parameters, many in statements:
        if statement.lstrip().upper().startswith("SELECT") and not any(
            word in statement.lower() for word in ("nextval", "setval")
        ):
            continue
        rows = list(parameters) if many else [parameters] if parameters else []
        last = batched[-1] if batched else None
        if not rows and last is not None and not last[1]:
            batched[-1] = (f"{last[0]};\n{statement}", None, False)
        elif rows and last is not None and last[2] and last[0] == statement:
            last[1].extend(rows)
        elif rows:
            batched.append((statement, rows, True))
        else:
            batched.append((statement, None, False))
    return batched


async def _replay(schema: str, statements: list[Statement]) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        async with conn.transaction():
            for statement, rows, many in statements:
                if many:
                    await conn.executemany(statement, rows)
                else:
                    await conn.execute(statement)
    finally:
        await conn.close()


TEMPLATES = Templates()


@dataclass
class _Rows:
    """A table's rows as the template left them, to be copied back."""

    columns: list[str]
    records: list[tuple[Any, ...]]


# What a schema is made of, as one string: relations and their columns, constraints, indexes and types. Run with
# the schema as search_path, so names print unqualified and two schemas the migrations made compare equal.
_STRUCTURE = """
SELECT concat_ws(E'\n',
  (SELECT string_agg(format('%s %s %s %s %s %s', c.relname, c.relkind, a.attname, format_type(a.atttypid,
     a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)), E'\n' ORDER BY c.relname, a.attnum)
   FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
   LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
   WHERE c.relnamespace = $1::regnamespace),
  (SELECT string_agg(format('%s %s', conname, pg_get_constraintdef(oid)), E'\n' ORDER BY conname)
   FROM pg_constraint WHERE connamespace = $1::regnamespace),
  (SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\n' ORDER BY 1)
   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = $1::regnamespace),
  (SELECT string_agg(format('%s %s', t.typname, e.enumlabel), E'\n' ORDER BY t.typname, e.enumsortorder)
   FROM pg_type t LEFT JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typnamespace = $1::regnamespace),
  (SELECT string_agg(format('%s %s', p.proname, p.prokind), E'\n' ORDER BY 1)
   FROM pg_proc p WHERE p.pronamespace = $1::regnamespace))
"""


class SchemaPool:
    """PostgreSQL schemas given back by tests, reset to a template's rows for the next test of this process.

    Making a schema (the migrations' DDL replayed) and dropping it cost PostgreSQL about 0.18 s of CPU per
    test, a sixth of the suite's; emptying the same tables and copying the template's rows back costs 0.02 s.
    A schema is taken back only if its structure is still what the migrations made (a test may alter, downgrade
    or add to it: then it is dropped), and it is reset when the next test takes it, so that test sees exactly
    what a fresh copy holds: the template's rows, and its sequences where the template left them. Foreign keys
    are not checked while the rows go back (session_replication_role, which needs a superuser: without one,
    nothing is pooled)."""

    def __init__(self) -> None:
        self.structure: str | None = None
        self.rows: dict[datetime | None, dict[str, _Rows]] = {}
        self.sequences: dict[datetime | None, dict[str, tuple[int, bool]]] = {}
        self.free: list[str] = []
        self.usable: bool | None = None

    @staticmethod
    async def _connect(schema: str) -> Any:
        import asyncpg

        return await asyncpg.connect(PG_URL.replace("+asyncpg", ""), server_settings={"search_path": schema})

    async def learn(self, schema: str, demo_at: datetime | None) -> bool:
        """A schema just copied from the template: remember its structure and rows (once per template), and
        whether schemas can be reset at all. True if this one may be given back."""
        if self.usable is not None and (not self.usable or (self.structure is not None and demo_at in self.rows)):
            return self.usable  # all of it known already: no connection needed
        conn = await self._connect(schema)
        try:
            if self.usable is None:
                self.usable = bool(await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
            if not self.usable:
                return False
            if self.structure is None:
                self.structure = await conn.fetchval(_STRUCTURE, schema)
            if demo_at not in self.rows:
                tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
                rows: dict[str, _Rows] = {}
                for (table,) in tables:
                    stmt = await conn.prepare(f'SELECT * FROM "{table}"')
                    columns = [attribute.name for attribute in stmt.get_attributes()]
                    rows[table] = _Rows(columns, [tuple(record) for record in await stmt.fetch()])
                found = await conn.fetch(
                    "SELECT sequencename, last_value, start_value FROM pg_sequences WHERE schemaname = $1", schema
                )
                self.sequences[demo_at] = {
                    name: (last, True) if last is not None else (start, False) for name, last, start in found
                }
                self.rows[demo_at] = rows
            return True
        finally:
            await conn.close()

    async def give_back(self, schema: str) -> bool:
        """Keep this schema for another test if its structure is unchanged; False if it must be dropped."""
        if not self.usable or self.structure is None:
            return False
        conn = await self._connect(schema)
        try:
            if await conn.fetchval(_STRUCTURE, schema) != self.structure:
                return False
        finally:
            await conn.close()
        self.free.append(schema)
        return True

    async def take(self, demo_at: datetime | None) -> str | None:
        """A schema given back, holding exactly the template's rows; None when there is none to reuse."""
        if not self.free or demo_at not in self.rows:
            return None
        schema = self.free.pop()
        rows, sequences = self.rows[demo_at], self.sequences[demo_at]
        script = ["SET LOCAL session_replication_role = replica", "SET LOCAL lock_timeout = '5s'"]
        script += [f'DELETE FROM "{table}"' for table in rows]
        script += [f"SELECT setval('\"{name}\"', {value}, {called})" for name, (value, called) in sequences.items()]
        conn = await self._connect(schema)
        try:
            async with conn.transaction():
                await conn.execute(";\n".join(script))
                for table, kept in rows.items():
                    if kept.records:
                        await conn.copy_records_to_table(
                            table, records=kept.records, columns=kept.columns, schema_name=schema
                        )
        except Exception:  # a connection the last test left holding a lock, say: this one gets a new schema
            await conn.close()
            with contextlib.suppress(Exception):  # left behind, like a schema of a test process that crashed
                await _drop_schema(schema, wait="5s")
            return None
        await conn.close()
        return schema

    async def drop_all(self) -> None:
        while self.free:
            await _drop_schema(self.free.pop())


SCHEMAS = SchemaPool()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if SCHEMAS.free:
        asyncio.run(SCHEMAS.drop_all())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def test_db(backend: str, tmp_path: Path) -> AsyncIterator[TestDatabase]:
    holder = TestDatabase(backend, tmp_path)
    yield holder
    await holder.drop()


@pytest.fixture(params=TEAMS_SDKS)
def teams_sdk(request: pytest.FixtureRequest) -> str:
    """Each Teams test runs on both Microsoft SDKs (EOI_TEAMS_SDK): the same activities in, the same out."""
    return request.param


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def make_settings(url: str, **overrides: object) -> Settings:
    """Settings as the tests run the service: Teams in emulator mode (its fake connector is on loopback)
    unless a test gives an app id."""
    values: dict[str, object] = {"database_url": url, "officers": (OFFICER,)}
    values["teams_emulator"] = not overrides.get("microsoft_app_id")
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def service_on_copy(settings: Settings, clock: Clock, db: Database) -> Service:
    """The service as `open_service` wires it, on a database `TestDatabase.create` copied from a template the
    migrations built. open_service would upgrade it (nothing to do) and then compare its tables with the models,
    which costs a reflection of every table (0.4 s on PostgreSQL) and can only pass on a copy of what the
    migrations made; that comparison is tested where it can fail (tests/unit/storage/test_migrations.py), and
    open_service itself by the tests that restart the service on a database they made."""
    return wire(settings, db, clock)


@pytest.fixture
async def service(test_db: TestDatabase, clock: Clock) -> AsyncIterator[Service]:
    """A service on a fresh database holding the demo register, need and a window open at NOW."""
    db = await test_db.create(demo_at=clock.now())
    svc = service_on_copy(make_settings(test_db.url), clock, db)
    yield svc
    await svc.close()


@pytest.fixture
async def empty_service(test_db: TestDatabase, clock: Clock) -> AsyncIterator[Service]:
    db = await test_db.create()
    svc = service_on_copy(make_settings(test_db.url), clock, db)
    yield svc
    await svc.close()
