"""The service under test as real processes: `eoi-bot serve` started, SIGKILLed and restarted at a chosen
"now" (EOI_NOW), the `eoi-bot` CLI and console, and a PostgreSQL database of its own for each run."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
import asyncpg

from sim.platforms import SECRET, TOKEN

PG_ADMIN = os.environ.get("EOI_SIM_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
HOST = "127.0.0.1"
# The SEND team working in parallel: two in Slack, two in Teams.
OFFICERS = (
    ("slack", "U0SIMOFFICER1"),
    ("msteams", "29:1simofficer1"),
    ("slack", "U0SIMOFFICER2"),
    ("msteams", "29:1simofficer2"),
)
OFFICER_CONSOLE = "sim-console-officer"


def eoi_bot() -> list[str]:
    script = Path(sys.executable).with_name("eoi-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Database:
    """A PostgreSQL database for one run, dropped afterwards."""

    def __init__(self) -> None:
        self.name = f"sim_{uuid.uuid4().hex[:10]}"
        base = PG_ADMIN.split("://", 1)[1].rsplit("/", 1)[0]
        self.url = f"postgresql+asyncpg://{base}/{self.name}"
        self.dsn = f"postgresql://{base}/{self.name}"

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create(self) -> None:
        await self._admin(f'CREATE DATABASE "{self.name}"')

    async def drop(self) -> None:
        with contextlib.suppress(Exception):
            await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn, timeout=10)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def drop_connections(self) -> int:
        """A database connection drop: every connection the service holds is terminated by the server."""
        conn = await asyncpg.connect(PG_ADMIN, timeout=10)
        try:
            rows = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.name,
            )
            return len(rows)
        finally:
            await conn.close()


@dataclass
class CliResult:
    code: int
    output: str


@dataclass
class Replica:
    """One `eoi-bot serve` process on a port of its own; the simulation's load balancer (sim.platforms) spreads
    requests between the replicas that are up."""

    port: int
    proc: asyncio.subprocess.Process | None = None
    started: float = 0.0  # wall time (Unix) it was started

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


METRICS_TOKEN = "sim-metrics-token"
SCHEDULER_RAN = re.compile(r"^eoi_scheduler_last_run_timestamp_seconds (\S+)$", re.MULTILINE)
SCHEDULER_HELD = re.compile(r"^eoi_scheduler_held (\S+)$", re.MULTILINE)


class Service:
    """Two `eoi-bot serve` processes on one PostgreSQL database (replicas behind a load balancer), at a "now"
    the simulation moves."""

    def __init__(
        self, db: Database, slack_api_url: str, workdir: Path, replicas: int = 2, *, teams_sdk: str = "botbuilder"
    ) -> None:
        self.db, self.slack_api_url, self.workdir = db, slack_api_url, workdir
        self.teams_sdk = teams_sdk  # EOI_TEAMS_SDK of the service processes
        self.replicas = [Replica(free_port()) for _ in range(replicas)]
        self.now: datetime | None = None
        self.smtp_url = ""
        self.starts = 0
        self.kills = 0
        self.failed_starts = 0
        self.start_seconds: list[float] = []
        self.logs: list[Path] = []

    def urls(self) -> list[str]:
        """Where the load balancer may send a request now: the replicas that are running."""
        return [r.url for r in self.replicas if r.up]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            env.pop(name, None)
        env.update(
            DATABASE_URL=self.db.url,
            EOI_OFFICERS=",".join([f"{p}:{u}" for p, u in OFFICERS] + [f"console:{OFFICER_CONSOLE}"]),
            MICROSOFT_APP_ID="",
            MICROSOFT_APP_PASSWORD="",
            EOI_TEAMS_EMULATOR="1",
            EOI_TEAMS_SDK=self.teams_sdk,
            NO_PROXY="127.0.0.1,localhost",
            PYTHONUNBUFFERED="1",
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=self.slack_api_url,
            # A send claimed by a process that was killed is taken over after this many seconds: short, so a run
            # with SIGKILLs finishes in minutes (the product's default is 60 s).
            EOI_DELIVERY_STALE_SECONDS="3",
            # The run spans six months; the delivery log (90 days by default) must outlive it to be checked.
            EOI_RETAIN_DELIVERY_LOG_DAYS="3650",
            # /metrics says which process runs the schedule and when it last ran: a step waits for that, not for time.
            EOI_METRICS="1",
            EOI_METRICS_TOKEN=METRICS_TOKEN,
        )
        if self.smtp_url:
            env.update(SMTP_URL=self.smtp_url, EOI_MAIL_FROM="eoi-bot@essex.example")
        if self.now is not None:
            env["EOI_NOW"] = self.now.isoformat()
        return env

    async def start(self) -> None:
        """Start every replica that is not running, at once."""
        await asyncio.gather(*(self.start_replica(n) for n, r in enumerate(self.replicas) if not r.up))

    async def start_replica(self, n: int) -> None:
        """Start one replica and wait until it answers; like a process supervisor, start it again if it exits
        at start-up (the database was unreachable for a moment: it refuses to start rather than limp)."""
        for attempt in range(3):
            try:
                await self._start_once(self.replicas[n])
                return
            except RuntimeError:
                if attempt == 2:
                    raise
                self.failed_starts += 1
                await asyncio.sleep(0.5)

    async def _start_once(self, replica: Replica) -> None:
        self.starts += 1
        log = self.workdir / f"serve-{self.starts}-port{replica.port}.log"
        self.logs.append(log)
        began = time.monotonic()
        replica.started = time.time()
        with log.open("w") as out:
            replica.proc = await asyncio.create_subprocess_exec(
                *eoi_bot(),
                "serve",
                "--host",
                HOST,
                "--port",
                str(replica.port),
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while True:
                if replica.proc.returncode is not None:
                    raise RuntimeError(f"eoi-bot serve exited: {log.read_text()[-3000:]}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(replica.url + "/healthz") as response:
                        if response.status == 200:
                            self.start_seconds.append(round(time.monotonic() - began, 2))
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"eoi-bot serve did not answer in 60 s: {log.read_text()[-3000:]}")
                await asyncio.sleep(0.05)

    async def kill(self, n: int = 0) -> None:
        """SIGKILL one replica: no clean-up, no finishing the turn or the send in hand. The other keeps serving."""
        proc = self.replicas[n].proc
        if proc and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
            self.kills += 1

    async def stop(self) -> None:
        async def one(n: int, replica: Replica) -> None:
            proc = replica.proc
            if proc and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    await self.kill(n)

        await asyncio.gather(*(one(n, r) for n, r in enumerate(self.replicas)))

    async def restart_at(self, now: datetime) -> None:
        """Move the clock: every replica is restarted treating `now` as the current time (EOI_NOW)."""
        await self.stop()
        self.now = now
        await self.start()

    async def scheduler_ran(self, timeout: float = 120) -> None:
        """Wait until the deployment's scheduler has finished a round since it started: the one running replica
        that holds the schedule's lease (storage/scheduler_lease.py). What was due at this "now" is then on
        record (a real completion condition, not a pause)."""
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with aiohttp.ClientSession() as http:
            while True:
                for replica in self.replicas:
                    if not replica.up:
                        continue
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with http.get(replica.url + "/metrics", headers=headers) as response:
                            text = await response.text()
                        held, ran = SCHEDULER_HELD.search(text), SCHEDULER_RAN.search(text)
                        if held and float(held.group(1)) == 1 and ran and float(ran.group(1)) >= replica.started:
                            return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no replica ran the schedule in {timeout} s")
                await asyncio.sleep(0.05)

    def errors(self) -> list[str]:
        found = []
        for log in self.logs:
            if log.exists():
                found += [line[:300] for line in log.read_text(errors="replace").splitlines() if " ERROR " in line]
        return found

    async def cli(self, *args: str, stdin: str | None = None, timeout: float = 120) -> CliResult:
        proc = await asyncio.create_subprocess_exec(
            *eoi_bot(),
            *args,
            env=self.env(),
            cwd=self.workdir,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin is not None else None), timeout)
        return CliResult(proc.returncode or 0, out.decode(errors="replace"))

    async def console_officer(self, *lines: str) -> str:
        """Commands typed by an officer in the terminal console (`eoi-bot chat --as officer`), piped in."""
        result = await self.cli("chat", "--as", "officer", "--user", OFFICER_CONSOLE, stdin="\n".join(lines) + "\n")
        return result.output
