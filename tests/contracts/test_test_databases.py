"""The suite's own databases: every test starts from exactly what the migrations and the demo seed make, whether
its PostgreSQL schema is new or one an earlier test gave back (tests/conftest.py, SchemaPool). A reset that
missed a row, a sequence or a changed table would let one test's leftovers decide another's result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW, PG_URL, POSTGRES, SCHEMAS
from tests.conftest import TestDatabase as _TestDatabase

pytestmark = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL not answering")


async def _contents(schema: str) -> dict[str, Any]:
    """Every table's rows (in a stable order) and every sequence's position."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        held: dict[str, Any] = {}
        for (table,) in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema):
            rows = [tuple(map(repr, record)) for record in await conn.fetch(f'SELECT * FROM "{table}"')]
            held[table] = sorted(rows)
        for name, last in await conn.fetch(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = $1", schema
        ):
            held[f"sequence {name}"] = last
        # The next id each sequence gives, as the next test's first insert would get it.
        for (name,) in await conn.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = $1", schema):
            held[f"next {name}"] = await conn.fetchval(f"SELECT nextval('\"{name}\"')")
        return held
    finally:
        await conn.close()


async def _scribble(schema: str) -> None:
    """What a test does to its database: new rows, changed rows, deleted rows, sequences moved on."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        await conn.execute("UPDATE schools SET name = name || ' (changed)'")
        await conn.execute("DELETE FROM need")
        await conn.execute(
            "INSERT INTO audit (at, actor, action, from_status, to_status, note) "
            "VALUES (now(), 'test', 'scribble', '', '', 'left behind')"
        )
        for (name,) in await conn.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = $1", schema):
            await conn.execute(f"SELECT setval('\"{name}\"', 9000)")
    finally:
        await conn.close()


async def test_a_schema_given_back_reaches_the_next_test_exactly_as_a_fresh_copy(tmp_path: Path) -> None:
    fresh = _TestDatabase("postgres", tmp_path)
    await (await fresh.create(demo_at=NOW)).dispose()
    expected = await _contents(fresh.schema)  # moves the sequences on: it is scribbled over next anyway
    await _scribble(fresh.schema)
    await fresh.drop()
    if not SCHEMAS.usable:
        pytest.skip("the PostgreSQL user is not a superuser: schemas are made afresh for every test")
    assert fresh.schema in SCHEMAS.free

    reused = _TestDatabase("postgres", tmp_path)
    await (await reused.create(demo_at=NOW)).dispose()
    assert reused.schema == fresh.schema, "the schema given back was not reused"
    assert await _contents(reused.schema) == expected
    await reused.drop()


async def test_a_schema_whose_tables_a_test_changed_is_dropped_not_reused(tmp_path: Path) -> None:
    import asyncpg

    changed = _TestDatabase("postgres", tmp_path)
    await (await changed.create(demo_at=NOW)).dispose()
    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), server_settings={"search_path": changed.schema})
    await conn.execute("ALTER TABLE schools ADD COLUMN left_behind TEXT")
    await conn.close()
    await changed.drop()
    assert changed.schema not in SCHEMAS.free

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        assert not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", changed.schema)
    finally:
        await conn.close()
