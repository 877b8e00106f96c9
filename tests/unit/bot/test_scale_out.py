"""Two worker processes serve one port (`eoi-bot serve --workers 2`) on PostgreSQL: a message Slack delivers
more than once (its retries, landing on either process) is answered once, each school gets the window's
announcement once, and every delivery is sent once.

Runs `eoi-bot serve` as a real process against the fake Slack Web API, on a database of its own.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from dialogs.demo import seed_demo
from storage.db import Database
from storage.models import EOI, Delivery, School, Window
from storage.windows import schools_in_scope
from tests.conftest import PG_URL, POSTGRES
from tests.fakes import slack_requests as sr
from tests.fakes.slack_web_api import FakeSlackWebApi
from tests.hostile.test_hostile_restart import ROOT, SECRET, _env, _free_port

pytestmark = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL not answering")
HEADS = [str(114000 + i) for i in range(0, 60, 5)]  # twelve schools, one in each district
COPIES = 3  # each message arrives this many times at once, as Slack's retries do after a slow answer


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def database() -> AsyncIterator[tuple[Database, str]]:
    """A PostgreSQL database of its own (a worker process can't be pointed at a test's schema), seeded."""
    name = f"t_scale_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    db = Database(url)
    try:
        await db.upgrade()
        async with db.session() as session:
            await seed_demo(session, now=datetime.now(UTC))  # the demo window is open now, in real time
            for school in await session.scalars(select(School)):
                school.slack_channel_id = f"C0{school.urn}"
            await session.commit()
        yield db, url
    finally:
        await db.dispose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _workers_of(pid: int) -> list[int]:
    """The worker processes `eoi-bot serve --workers` started (children running multiprocessing's spawn)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


async def _settled(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(1200):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never settled: {what}")


async def test_two_workers_on_one_port_answer_each_message_and_announce_to_each_school_once(database):
    db, url = database
    async with db.session() as session:
        window = await session.scalar(select(Window))
        in_scope = {s.urn for s, _ in await schools_in_scope(session, window)}
    slack = FakeSlackWebApi()
    await slack.start()
    for urn in HEADS:
        slack.add_user(f"U0HEAD{urn}", f"head{urn}@demo-school.example", f"Head Teacher {urn}")
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
        env={**_env(url, slack), "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")},
        cwd=str(ROOT),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        async def answering() -> bool:
            assert proc.returncode is None, f"eoi-bot serve exited with {proc.returncode}"
            try:
                async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as response:
                    return response.status == 200 and len(_workers_of(proc.pid)) == 2
            except aiohttp.ClientError:
                return False

        await _settled(answering, "two workers answering /healthz")

        async def post(body: str, retry: int | None) -> int:
            # A connection of its own for every copy, so the kernel may hand each to either worker.
            headers = sr.signed_headers(SECRET, body, retry_num=retry)
            async with (
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
                http.post(f"{base}/slack/events", data=body, headers=headers) as response,
            ):
                return response.status

        bodies = {urn: sr.message_im_event_body(f"U0HEAD{urn}", "start") for urn in HEADS}
        statuses = await asyncio.gather(
            *(post(body, copy or None) for body in bodies.values() for copy in range(COPIES))
        )
        assert set(statuses) == {200}

        async def everyone_answered_and_announced() -> bool:
            dms = {c.get("channel") for c in slack.calls_to("chat.postMessage", ok_only=True)}
            async with db.session() as session:
                waiting = await session.scalar(select(func.count()).where(Delivery.status != "sent"))
                planned = await session.scalar(select(func.count()).where(Delivery.kind == "announcement"))
            return {f"U0HEAD{u}" for u in HEADS} <= dms and not waiting and planned >= len(in_scope)

        await _settled(everyone_answered_and_announced, "every head answered and every school announced to")
        await asyncio.sleep(3)  # a little longer than the dispatchers' round: a second send would show by now
        assert len(_workers_of(proc.pid)) == 2, "a worker died"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
        await slack.stop()

    posted = slack.calls_to("chat.postMessage", ok_only=True)
    for urn in HEADS:
        replies = Counter(str(c.get("text")) for c in posted if c.get("channel") == f"U0HEAD{urn}")
        assert replies and set(replies.values()) == {1}, (urn, replies)
    async with db.session() as session:
        drafts = Counter((await session.scalars(select(EOI.school_urn))).all())
    assert drafts == dict.fromkeys(HEADS, 1)  # `start` made one draft per school, whichever worker took it
    announced = Counter(
        c.get("channel")
        for c in posted
        if str(c.get("channel", "")).startswith("C0") and "expressions of interest are open" in str(c.get("text"))
    )
    assert announced == {f"C0{urn}": 1 for urn in in_scope}
    keys = Counter((c.get("metadata") or {}).get("event_payload", {}).get("key") for c in posted if c.get("metadata"))
    assert keys and set(keys.values()) == {1}, [k for k, n in keys.items() if n > 1]
