"""The database drops every connection (a restart, a failover, an idle timeout on the way): the next turn runs on
a new connection instead of "Sorry, something went wrong" (found by the simulation, which drops them mid-work)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import select

from storage.models import EOI
from tests.chat import headteacher
from tests.conftest import PG_URL, POSTGRES


@pytest.fixture
def backend() -> str:
    return "postgres"


async def drop_connections(schema: str) -> int:
    """What a database restart does to the service's connections: each is terminated by the server."""
    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                f"eoi-bot:{schema}",
            )
        )
    finally:
        await conn.close()


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL not answering")
async def test_a_headteacher_carries_on_after_the_database_dropped_every_connection(service, test_db, caplog):
    head = await headteacher(service)
    assert "Which kind of provision" in await head.say("start")
    assert await drop_connections(test_db.schema) >= 1
    said = await head.say("Resourced Provision")
    assert "Sorry, something went wrong" not in said
    assert "need" in said.casefold()  # on to the next question
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == "114000"))
    assert eoi.answers.get("provision_type")  # the answer was kept, once
    assert "a database connection was dropped mid-turn" in caplog.text
