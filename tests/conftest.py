"""Shared fixtures: a fresh database per test (SQLite always; PostgreSQL too when it answers), a
controllable clock, the demo data, and a Service wired as `eoi-bot serve` wires it."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.service import Service, open_service
from dialogs.demo import seed_demo
from storage.clock import Clock
from storage.db import Database

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
            self.url = f"sqlite+aiosqlite:///{tmp_path / 'eoi-test.db'}"
        else:
            self.url = PG_URL

    async def create(self, *, upgrade: bool = True) -> Database:
        """The database (schema) for this test, at the newest migration unless `upgrade` is False (empty)."""
        if self.backend == "postgres":
            import asyncpg

            conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
            await conn.execute(f'CREATE SCHEMA "{self.schema}"')
            await conn.close()
        db = self.open()
        if upgrade:
            await db.upgrade()
        return db

    def open(self) -> Database:
        return Database(self.url, schema=self.schema if self.backend == "postgres" else None)

    async def drop(self) -> None:
        if self.backend == "postgres":
            import asyncpg

            conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            await conn.close()


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


@pytest.fixture
async def service(test_db: TestDatabase, clock: Clock) -> AsyncIterator[Service]:
    """A service on a fresh database holding the demo register, need and a window open at NOW."""
    db = await test_db.create()
    async with db.session() as session:
        await seed_demo(session, now=clock.now())
    svc = await open_service(make_settings(test_db.url), clock=clock, db=db)
    yield svc
    await svc.close()


@pytest.fixture
async def empty_service(test_db: TestDatabase, clock: Clock) -> AsyncIterator[Service]:
    db = await test_db.create()
    svc = await open_service(make_settings(test_db.url), clock=clock, db=db)
    yield svc
    await svc.close()
