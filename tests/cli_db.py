"""Point `bot.cli.main([...])` at a test's database, as DATABASE_URL does for a real run."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import TestDatabase


def use_test_database(monkeypatch: pytest.MonkeyPatch, test_db: TestDatabase, now: datetime) -> None:
    monkeypatch.setenv("DATABASE_URL", test_db.url)
    monkeypatch.setenv("EOI_NOW", now.isoformat())
    if test_db.backend == "postgres":
        # Each PostgreSQL test has a schema of its own, which a URL can't name for asyncpg: the command's
        # database is opened on that schema (everything else in the command runs as it does for real).
        monkeypatch.setattr("bot.service.Database", lambda url: test_db.open())
