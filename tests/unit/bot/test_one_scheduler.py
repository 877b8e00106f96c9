"""One scheduler per deployment: with two workers (`eoi-bot serve --workers 2`) or two replicas on one PostgreSQL
database, exactly one process runs the schedule (it holds the lease, storage/scheduler_lease.py), so its work and
log lines happen once; when that process is killed (SIGKILL: no goodbye), another takes the schedule over.

Runs `eoi-bot serve` as real processes, on a database of their own (tests/unit/bot/test_scale_out.py's)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import aiohttp
import pytest

from tests.conftest import POSTGRES
from tests.fakes import slack_requests as sr
from tests.fakes.slack_web_api import FakeSlackWebApi
from tests.hostile.test_hostile_restart import ROOT, SECRET, _env, _free_port, slack  # noqa: F401  (the fixture)
from tests.unit.bot.test_scale_out import _settled, _workers_of, database  # noqa: F401  (the fixture)

pytestmark = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL not answering")
TOKEN = "a-metrics-token-for-the-test"
TURNS = 8


def _turns(scraped: dict[str, float]) -> float:
    return sum(value for name, value in scraped.items() if name.startswith("eoi_turns_total{"))


RUNS = re.compile(r"this process \(pid (\d+)\) runs the schedule")


class Served:
    """`eoi-bot serve [--workers N]` with its log lines collected as they come."""

    def __init__(self, url: str, fake: FakeSlackWebApi, *extra: str, env: dict[str, str] | None = None) -> None:
        self.more_env = env or {}
        self.url, self.slack, self.extra, self.lines = url, fake, extra, []  # type: ignore[var-annotated]
        self.port = _free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {
            **_env(self.url, self.slack),
            **self.more_env,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        }
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--port", str(self.port), *self.extra,
            env=env, cwd=str(ROOT), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode(errors="replace"))

    def holders(self) -> list[int]:
        return [int(m.group(1)) for line in self.lines if (m := RUNS.search(line))]

    async def healthy(self) -> bool:
        assert self.proc is not None and self.proc.returncode is None, "".join(self.lines[-20:])
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def metrics(self) -> dict[str, float]:
        """One scrape of /metrics, on a connection of its own (either worker may answer): sample -> value."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
            http.get(f"http://127.0.0.1:{self.port}/metrics", headers=headers) as response,
        ):
            assert response.status == 200
            text = await response.text()
        return {
            name: float(value)
            for name, value in (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        }

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 20)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 5)


async def test_two_workers_run_one_schedule_and_another_takes_it_over_when_its_holder_is_killed(database, slack):  # noqa: F811
    _, url = database
    served = Served(url, slack, "--workers", "2", env={"EOI_METRICS": "1", "EOI_METRICS_TOKEN": TOKEN})
    await served.start()
    try:
        assert served.proc is not None

        async def two_workers_and_a_holder() -> bool:
            return await served.healthy() and len(_workers_of(served.proc.pid)) == 2 and bool(served.holders())

        await _settled(two_workers_and_a_holder, "two workers serving, one running the schedule")
        await asyncio.sleep(5)  # a few of the other worker's rounds: it never takes the schedule while it is held
        workers = set(_workers_of(served.proc.pid))
        assert len(served.holders()) == 1 and served.holders()[0] in workers, "".join(served.lines)
        assert sum("opened: announcing" in line for line in served.lines) == 1  # the schedule's work, once
        # /metrics reports every worker, whichever answers: exactly one holds the schedule; the turns of both.
        slack.add_user("U0HEAD114000", "head114000@demo-school.example", "Head Teacher")
        for n in range(TURNS):
            body = sr.message_im_event_body("U0HEAD114000", "help", event_id=f"Ev{n}")
            async with (
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
                http.post(
                    f"http://127.0.0.1:{served.port}/slack/events", data=body, headers=sr.signed_headers(SECRET, body)
                ) as response,
            ):
                assert response.status == 200

        async def counted() -> bool:
            return _turns(await served.metrics()) == TURNS

        await _settled(counted, "every turn counted")
        for _ in range(6):
            scraped = await served.metrics()
            assert scraped["eoi_scheduler_held"] == 1.0 and _turns(scraped) == TURNS
            assert "process_resident_memory_bytes" not in scraped  # one worker's memory would mislead

        holder = served.holders()[0]
        os.kill(holder, signal.SIGKILL)

        async def taken_over() -> bool:
            alive = set(_workers_of(served.proc.pid))
            return len(served.holders()) == 2 and holder not in alive and len(alive) == 2

        await _settled(taken_over, "the schedule taken over, and the killed worker replaced")
        assert served.holders()[1] != holder
        assert (await served.metrics())["eoi_scheduler_held"] == 1.0  # the dead worker's 1 no longer counts
        assert any("was killed (signal 9): starting another" in line for line in served.lines)
        assert await served.healthy()
    finally:
        await served.stop()


async def test_of_two_replicas_one_runs_the_schedule_and_the_other_takes_over_after_a_sigkill(database, slack):  # noqa: F811
    _, url = database
    replicas = [Served(url, slack), Served(url, slack)]
    for replica in replicas:
        await replica.start()
    try:

        async def both_up_and_one_holds() -> bool:
            return all([await r.healthy() for r in replicas]) and sum(len(r.holders()) for r in replicas) >= 1

        await _settled(both_up_and_one_holds, "both replicas serving, one running the schedule")
        await asyncio.sleep(5)
        holding = [r for r in replicas if r.holders()]
        assert len(holding) == 1 and len(holding[0].holders()) == 1
        first, other = holding[0], next(r for r in replicas if r is not holding[0])
        assert first.proc is not None
        first.proc.send_signal(signal.SIGKILL)
        await first.proc.wait()

        async def other_holds_and_works() -> bool:  # the schedule's start-of-day work, in the survivor
            return bool(other.holders()) and any("Retention:" in line for line in other.lines)

        await _settled(other_holds_and_works, "the other replica running the schedule")
    finally:
        for replica in replicas:
            await replica.stop()
