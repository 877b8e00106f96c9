"""Shared fixtures: a fresh database per test (SQLite always; PostgreSQL too when it answers), a
controllable clock, the demo data, and a Service wired as `eoi-bot serve` wires it."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.engine.interfaces import ExecuteStyle

from bot.config import Settings
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

    async def create(self, *, upgrade: bool = True, demo_at: datetime | None = None) -> Database:
        """The database (schema) for this test, at the newest migration unless `upgrade` is False (empty), and
        holding the demo data seeded at `demo_at` when given. Each is a copy of one this process built the
        same way once (TEMPLATES), not Alembic and the seed run again for every test."""
        if self.backend == "postgres":
            import asyncpg

            conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
            await conn.execute(f'CREATE SCHEMA "{self.schema}"')
            await conn.close()
        if demo_at is not None and not upgrade:
            raise ValueError("the demo data needs the tables: upgrade=True")
        if upgrade and not (self.backend == "sqlite" and self.path.exists()):
            await TEMPLATES.copy_into(self, demo_at)
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
            import asyncpg

            conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def test_db(backend: str, tmp_path: Path) -> AsyncIterator[TestDatabase]:
    holder = TestDatabase(backend, tmp_path)
    yield holder
    await holder.drop()


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
