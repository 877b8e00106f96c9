"""Scenario 2: announcement fan-out to a register the size of Essex.

A register of SCHOOLS schools is imported with `eoi-bot import schools` (every school has a
slack_channel_id) and need rows that put every school in scope of the window open now
(`eoi-bot import need`). The fake Slack allows one message per second per channel and answers 429 to 5% of
chat.postMessage calls at random (Retry-After: 1). Then `eoi-bot announce` runs as a subprocess.

Two variants: every school has its own channel (the per-channel limit never binds: the bound is 0 s and
what shows is throughput and 429 recovery), and schools share their district's channel (about 46 messages a
channel for 550 schools: the per-channel limit binds).

Reported: wall time of `eoi-bot announce`, the rate-limit bound (max over channels of (messages on that
channel - 1) x 1 s), their ratio, duplicates and losses (the fake's accepted messages per school against the
schools in scope), 429s seen, and the process's peak RSS (ru_maxrss).
"""

from __future__ import annotations

import collections
import csv
import io
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import EOI_NOW, Backend, base_env, run_cli
from storage.register import SCHOOL_COLUMNS
from storage.vocabulary import DISTRICTS, QUADRANTS
from tests.fakes.slack_web_api import FakeSlackWebApi, RecordedCall

FIRST_URN = 114000
PER_CHANNEL_SECONDS = 1.0
RANDOM_429 = 0.05
_SCHOOL = re.compile(r"Bench School (\d+)")
_KEY = re.compile(r"announce:\d+:(\d+)")


def register_csv(schools: int, *, shared: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SCHOOL_COLUMNS)
    districts = list(DISTRICTS)
    for i in range(schools):
        urn = FIRST_URN + i
        d = i % len(districts)
        district = districts[d]
        phase = ("primary", "primary", "secondary", "all-through")[(i // len(districts)) % 4]
        channel = f"C0DIST{d:02d}" if shared else f"C0S{urn}"
        writer.writerow(
            [
                urn,
                f"Bench School {urn}, {district}",
                phase,
                DISTRICTS[district],
                district,
                f"Head Teacher {urn}",
                f"head{urn}@bench-school.example",
                channel,
                "",
            ]
        )
    return out.getvalue()


def need_csv() -> str:
    """A row per quadrant and phase: every school is in scope."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["quadrant", "district", "phase", "need_type", "provision_type", "places", "priority", "notes"])
    for quadrant in QUADRANTS:
        writer.writerow([quadrant, "", "primary", "ASD", "resourced", 16, "high", "bench"])
        writer.writerow([quadrant, "", "secondary", "SEMH", "partnership", 12, "medium", "bench"])
    return out.getvalue()


async def in_scope(url: str) -> set[str]:
    """The URNs of the schools in scope of the window open at EOI_NOW, as the bot computes them."""
    from storage.db import Database
    from storage.windows import current_or_next, schools_in_scope

    db = Database(url)
    try:
        async with db.session() as session:
            window = await current_or_next(session, datetime.fromisoformat(EOI_NOW))
            assert window is not None, "no window open"
            return {school.urn for school, _ in await schools_in_scope(session, window)}
    finally:
        await db.dispose()


async def run_fanout(
    backend: Backend, fake: FakeSlackWebApi, workdir: Path, *, schools: int, shared: bool
) -> dict[str, Any]:
    url = await backend.fresh()
    try:
        env = base_env(url, slack_api_url=fake.base_url)
        register = workdir / f"register-{schools}-{'shared' if shared else 'own'}.csv"
        register.write_text(register_csv(schools, shared=shared))
        need = workdir / "need.csv"
        need.write_text(need_csv())
        for args in (["import", "schools", str(register)], ["import", "need", str(need)]):
            result = await run_cli(args, env, timeout=120)
            if result.returncode != 0:
                raise RuntimeError(f"eoi-bot {' '.join(args)} failed: {result.output[-2000:]}")
        expected = await in_scope(url)

        accepted: list[tuple[float, str, str]] = []  # (time, channel, urn)
        refused = collections.Counter[int]()

        def listener(call: RecordedCall) -> None:
            if call.method != "chat.postMessage":
                return
            if not call.ok:
                refused[call.status] += 1
                return
            channel = str(call.args.get("channel", ""))
            if not channel.startswith("C0"):
                return  # officers' DMs
            metadata = call.args.get("metadata")
            found = _KEY.search(str(metadata)) if metadata else None
            found = found or _SCHOOL.search(str(call.args.get("text", "")))
            accepted.append((time.perf_counter(), channel, found.group(1) if found else "?"))

        fake.reset()
        fake.enforce_rate_limit(PER_CHANNEL_SECONDS)
        fake.random_429_fraction(RANDOM_429, seed=6)
        fake.listeners.append(listener)
        try:
            started = time.perf_counter()
            result = await run_cli(["announce"], env, timeout=600)
            wall = time.perf_counter() - started
        finally:
            fake.listeners.remove(listener)
            fake.reset()
        if result.returncode != 0:
            raise RuntimeError(f"eoi-bot announce failed: {result.output[-2000:]}")

        per_channel = collections.Counter(channel for _, channel, _ in accepted)
        per_school = collections.Counter(urn for _, _, urn in accepted)
        bound = max((n - 1 for n in per_channel.values()), default=0) * PER_CHANNEL_SECONDS
        span = (accepted[-1][0] - accepted[0][0]) if accepted else 0.0
        duplicates = sum(n - 1 for n in per_school.values() if n > 1)
        lost = sorted(expected - set(per_school))
        return {
            "variant": "district channels (shared)" if shared else "one channel per school",
            "schools": schools,
            "in_scope": len(expected),
            "channels": len(per_channel),
            "max_per_channel": max(per_channel.values(), default=0),
            "messages_accepted": len(accepted),
            "refused_429": refused.get(429, 0),
            "seconds": round(wall, 2),
            "send_span_seconds": round(span, 2),
            "bound_seconds": bound,
            "ratio": round(wall / bound, 2) if bound else None,
            "span_ratio": round(span / bound, 2) if bound else None,
            "duplicates": duplicates,
            "losses": len(lost),
            "lost_examples": lost[:5],
            "unattributed": per_school.get("?", 0),
            "peak_rss_mb": result.peak_rss_mb,
            "announce_output": result.output.strip().splitlines()[-3:],
        }
    finally:
        await backend.drop(url)
