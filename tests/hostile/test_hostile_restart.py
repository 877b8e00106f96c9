"""The service process is killed with SIGKILL in the middle of things, then started again: nothing a
headteacher typed is lost, and every in-scope school is announced to exactly once.

These run `eoi-bot serve` as a real process against the fake Slack Web API, and talk to it over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from dialogs.demo import seed_demo
from storage.db import Database
from storage.models import Delivery, School, Window
from storage.windows import schools_in_scope
from tests.chat import RESOURCED_ANSWERS
from tests.fakes import slack_requests as sr
from tests.fakes.slack_web_api import FakeSlackWebApi

SECRET = "hostile-restart-secret"
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`eoi-bot serve` in a child process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env, self.port = env, _free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.port = _free_port()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--port",
            str(self.port),
            env=self.env,
            cwd=str(ROOT),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if self.proc.returncode is not None:
                    raise AssertionError(f"eoi-bot serve exited with {self.proc.returncode}")
                await asyncio.sleep(0.05)
        raise AssertionError("eoi-bot serve did not answer /healthz within 15 s")

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                await self.kill()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackWebApi]:
    fake = FakeSlackWebApi()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[Database, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"
    db = Database(url)
    await db.upgrade()
    async with db.session() as session:
        await seed_demo(session, now=datetime.now(UTC))  # the demo window is open now, in real time
    yield db, url
    await db.dispose()


def _env(url: str, slack: FakeSlackWebApi) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "EOI_"))}
    env.update(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.base_url,
        EOI_OFFICERS="slack:U0OFFICER",
        EOI_DELIVERY_STALE_SECONDS="1",
    )
    return env


async def _say(served: Served, slack: FakeSlackWebApi, user: str, text: str, expect: str) -> str:
    """Type in the DM and wait for the reply that contains `expect`."""
    before = len(slack.calls_to("chat.postMessage"))
    body = sr.message_im_event_body(user, text)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{served.url}/slack/events", data=body, headers=sr.signed_headers(SECRET, body)) as response,
    ):
        assert response.status == 200
    for _ in range(400):
        posted = slack.calls_to("chat.postMessage")[before:]
        texts = [p.get("text", "") + str(p.get("blocks", "")) for p in posted if p.get("channel") == user]
        if any(expect in t for t in texts):
            return "\n".join(texts)
        await asyncio.sleep(0.025)
    raise AssertionError(f"no reply containing {expect!r} to {text!r}")


async def test_a_headteacher_killed_mid_dialog_resumes_at_the_same_question_with_every_answer(slack, database):
    _, url = database
    slack.add_user("U114000", email="head114000@demo-school.example", real_name="Head 114000")
    served = Served(_env(url, slack))
    await served.start()
    try:
        await _say(served, slack, "U114000", "start", "Question 1 of")
        for n, answer in enumerate(RESOURCED_ANSWERS[:6], start=2):
            await _say(served, slack, "U114000", answer, f"Question {n} of")
        await served.kill()
        await served.start()
        # The next answer goes straight in: the dialog is still on question 7, with all six answers.
        await _say(served, slack, "U114000", RESOURCED_ANSWERS[6], "Question 8 of")
        review = await _say(served, slack, "U114000", "review", "Proposed start")
        for shown in ("Resourced Provision", "ASD", "KS1, KS2", "12", "September 2027"):
            assert shown in review
    finally:
        await served.stop()


async def test_a_fan_out_killed_half_way_announces_to_every_school_exactly_once(slack, database):
    db, url = database
    async with db.session() as session:
        # Schools share their district's channel, so the one-message-a-second limit spreads the fan-out out.
        for school in await session.scalars(select(School)):
            school.slack_channel_id = "C" + school.district.upper().replace(" ", "")
        window = await session.scalar(select(Window))
        in_scope = {s.urn for s, _ in await schools_in_scope(session, window)}
        await session.commit()
    slack.enforce_rate_limit(per_channel_seconds=1.0)
    served = Served(_env(url, slack))
    await served.start()
    try:
        await slack.wait_for("chat.postMessage", count=8, timeout=20, ok_only=True)
        await served.kill()
        half = len(slack.calls_to("chat.postMessage", ok_only=True))
        assert half < len(in_scope), "the fan-out finished before the kill; nothing was tested"
        await served.start()
        for _ in range(600):
            async with db.session() as session:
                left = (await session.scalars(select(Delivery).where(Delivery.status != "sent"))).all()
            if not left:
                break
            await asyncio.sleep(0.1)
        assert not left, [(d.key, d.status, d.last_error) for d in left]
    finally:
        await served.stop()
    keys = Counter(
        (call.get("metadata") or {}).get("event_payload", {}).get("key")
        for call in slack.calls_to("chat.postMessage", ok_only=True)
    )
    assert set(keys.values()) == {1}, [k for k, n in keys.items() if n > 1]
    async with db.session() as session:
        announced = {
            d.school_urn for d in await session.scalars(select(Delivery).where(Delivery.kind == "announcement"))
        }
    assert announced == in_scope
