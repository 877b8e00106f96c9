"""What every scenario shares: databases per run, the service as a subprocess, its peak RSS, percentiles.

Everything listens on 127.0.0.1 and every subprocess is killed in a finally block.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

PG_ADMIN = os.environ.get("EOI_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench"
# A fixed "now" inside the demo window, so the typed dates stay valid whenever the bench runs.
EOI_NOW = "2026-11-30T10:00:00+00:00"
OFFICER_SLACK = "U0BENCHOFFICER"
OFFICER_TEAMS = "29:1benchofficer"
HOST = "127.0.0.1"


# ----------------------------------------------------------------------------------------------- numbers
def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p95_ms": round(percentile(seconds, 95) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "max_ms": round(max(seconds, default=0.0) * 1000, 1),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (`eoi-bot serve --workers N` and its workers)."""
    total = cpu_seconds(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                total += cpu_seconds(int(entry.name))
    return total


def named_cpu_seconds(name: str) -> float:
    """CPU time so far of every process called `name` (`postgres`: the server and its backends, which share the
    machine's cores with the service and the load generator). A backend that exits between two readings takes its
    time with it, so this undercounts a little."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if stat.split("(", 1)[1].rsplit(")", 1)[0] == name:
                total += cpu_seconds(int(entry.name))
    return total


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def eoi_bot_command() -> list[str]:
    """`eoi-bot` from the same environment as this interpreter."""
    script = Path(sys.executable).with_name("eoi-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def base_env(database_url: str, *, slack_api_url: str = "") -> dict[str, str]:
    env = dict(os.environ)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url,
        EOI_NOW=EOI_NOW,
        EOI_OFFICERS=f"slack:{OFFICER_SLACK},msteams:{OFFICER_TEAMS}",
        MICROSOFT_APP_ID="",
        EOI_TEAMS_EMULATOR="1",  # Teams in emulator mode: the fake connector on loopback needs no token
        MICROSOFT_APP_PASSWORD="",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
        SLACK_BOT_TOKEN=TOKEN if slack_api_url else "",
        SLACK_SIGNING_SECRET=SECRET if slack_api_url else "",
        SLACK_API_URL=slack_api_url,
        # The officer-list benchmark's 10,000 EOIs are synthetic history from 2021 on: retention (which runs when
        # the service starts) would remove the unsuccessful ones and change what `list` measures.
        EOI_RETAIN_DRAFTS_DAYS="36500",
        EOI_RETAIN_UNSUCCESSFUL_DAYS="36500",
    )
    return env


# ----------------------------------------------------------------------------------------------- databases
class Backend:
    """Fresh databases for each run, cloned from one seeded template (`eoi-bot seed --demo`)."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name, self.workdir = name, workdir
        self.tag = uuid.uuid4().hex[:8]
        self.template = ""
        self.created: list[str] = []
        self._count = 0

    @property
    def is_pg(self) -> bool:
        return self.name == "postgres"

    def _url(self, dbname_or_path: str) -> str:
        if self.is_pg:
            return f"postgresql+asyncpg://{PG_ADMIN.split('://', 1)[1].rsplit('/', 1)[0]}/{dbname_or_path}"
        return f"sqlite+aiosqlite:///{dbname_or_path}"

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def prepare(self) -> None:
        """Create and seed the template."""
        if self.is_pg:
            self.template = f"bench_tpl_{self.tag}"
            await self._admin(f'CREATE DATABASE "{self.template}"')
            self.created.append(self.template)
            url = self._url(self.template)
        else:
            self.template = str(self.workdir / "template.db")
            url = self._url(self.template)
        result = await run_cli(["seed", "--demo"], base_env(url), timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"seed failed: {result.output[-2000:]}")

    async def fresh(self) -> str:
        """A database URL holding a copy of the seeded template."""
        self._count += 1
        if self.is_pg:
            name = f"bench_{self.tag}_{self._count}"
            await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            self.created.append(name)
            return self._url(name)
        path = self.workdir / f"run{self._count}.db"
        shutil.copyfile(self.template, path)
        for suffix in ("-wal", "-shm"):
            if Path(self.template + suffix).exists():
                shutil.copyfile(self.template + suffix, str(path) + suffix)
        return self._url(str(path))

    async def drop(self, url: str) -> None:
        if self.is_pg:
            name = url.rsplit("/", 1)[1]
            with contextlib.suppress(Exception):
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                self.created.remove(name)
        else:
            path = url.split("///", 1)[1]
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(path + suffix)

    async def cleanup(self) -> None:
        for name in reversed(list(self.created)):
            with contextlib.suppress(Exception):
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


async def postgres_answers() -> bool:
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    except Exception:
        return False
    await conn.close()
    return True


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="eoi-bench-"))


# ----------------------------------------------------------------------------------------------- processes
@dataclass
class CliResult:
    returncode: int
    output: str
    seconds: float
    peak_rss_mb: float


async def run_cli(args: list[str], env: dict[str, str], *, timeout: float = 300) -> CliResult:
    """Run `eoi-bot ARGS` to completion; its peak RSS comes from wait4's rusage (ru_maxrss)."""

    def run() -> CliResult:
        with tempfile.TemporaryFile("w+") as out:
            started = time.perf_counter()
            proc = subprocess.Popen([*eoi_bot_command(), *args], env=env, stdout=out, stderr=subprocess.STDOUT)
            timer = threading.Timer(timeout, lambda: proc.kill())
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)
            finally:
                timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - started
            out.seek(0)
            return CliResult(proc.returncode, out.read(), seconds, round(usage.ru_maxrss / 1024, 1))

    return await asyncio.to_thread(run)


@dataclass
class Served:
    """A running `eoi-bot serve` (or bench.bare_echo) subprocess."""

    proc: asyncio.subprocess.Process
    port: int
    log: Path
    rss_samples: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.proc.pid)

    def errors(self, limit: int = 5) -> list[str]:
        """ERROR lines the service logged so far, each with the exception that followed it."""
        found: list[str] = []
        lines = self.log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if " ERROR " in line and len(found) < limit:
                tail = next((x for x in lines[i + 1 : i + 80] if x and not x.startswith((" ", "Traceback"))), "")
                found.append(f"{line[:200]} | {tail[:300]}")
        return found


@contextlib.asynccontextmanager
async def serve(
    env: dict[str, str], *, command: list[str] | None = None, health: str = "/healthz", log_dir: Path
) -> AsyncIterator[Served]:
    """Start the service on a free port, wait until it answers, and always stop it."""
    port = free_port()
    command = command or [*eoi_bot_command(), "serve", "--host", HOST, "--port", str(port)]
    command = [c.replace("{port}", str(port)) for c in command]
    log = log_dir / f"serve-{port}.log"
    with log.open("w") as out:
        proc = await asyncio.create_subprocess_exec(*command, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(proc, port, log)
    try:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"{command[0]} exited: {log.read_text()[-2000:]}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(served.url + health) as response:
                        if response.status < 500:
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not answer within 60 s: {log.read_text()[-2000:]}")
                await asyncio.sleep(0.05)
        yield served
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()


@contextlib.asynccontextmanager
async def profiled(pid: int, out: Path | None) -> AsyncIterator[None]:
    """py-spy (if installed and `out` given) samples the process meanwhile, writing collapsed stacks to `out`."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if out is None or not Path(spy).exists():
        yield
        return
    proc = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--format",
        "raw",
        "--rate",
        "250",
        "-o",
        str(out),
        "--pid",
        str(pid),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def short(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if value < 1000 else f"{value:.0f}"
    return str(value)
