"""Scenario 3: an officer's `list` over 10,000 EOIs.

2,000 schools x 5 (closed) windows = 10,000 EOIs are bulk-inserted with SQLAlchemy Core, next to the demo
data. Then each `list` command is timed two ways:

- over HTTP (the number to read): the officer types the command in their Slack DM with the running
  `eoi-bot serve` (a signed message.im event); latency is from the POST until the list reply reaches the fake
  Slack Web API;
- in-process: `Conversations.handle` called directly in the bench process on the same database, which
  isolates the dialog and query cost from HTTP, Slack rendering and the Web API call.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import insert, select

from bench.common import EOI_NOW, OFFICER_SLACK, SECRET, Backend, base_env, latency_summary, serve
from dialogs.glossary import DISTRICTS, EOI_NEED_TYPES
from storage import eois
from storage.db import Database
from storage.models import EOI, School, Window
from storage.windows import window_code
from tests.fakes import slack_requests as sr
from tests.fakes.slack_web_api import FakeSlackWebApi, RecordedCall

OFFICERS = [OFFICER_SLACK, f"{OFFICER_SLACK}2", f"{OFFICER_SLACK}3"]
QUERIES = [
    "list",
    "list submitted",
    "list ASD Colchester",
    "list page 40",
    "list status=submitted quadrant=Mid need=ASD page 3",
    "list approved secondary 2223A",
]
LIST_REPLY = re.compile(r"EOIs? · page \d+ of \d+|No EOIs match|There is no page")
STATUS_WEIGHTS = {
    eois.SUBMITTED: 30,
    eois.SHORTLISTED: 15,
    eois.NOT_SHORTLISTED: 15,
    eois.SCHEDULED: 10,
    eois.APPROVED: 10,
    eois.DECLINED: 10,
    eois.WITHDRAWN: 5,
    eois.DRAFT: 5,
}


async def bulk_insert(url: str, *, schools: int, windows: int) -> int:
    """Schools x windows EOIs in a handful of multi-row INSERTs. Returns the number of EOIs."""
    rng = random.Random(10_000)
    db = Database(url)
    now = datetime.fromisoformat(EOI_NOW)
    districts = list(DISTRICTS)
    try:
        async with db.engine.begin() as conn:
            school_rows = [
                {
                    "urn": str(300000 + i),
                    "name": f"List School {300000 + i}",
                    "phase": ("primary", "secondary", "all-through")[i % 3],
                    "quadrant": DISTRICTS[districts[i % len(districts)]],
                    "district": districts[i % len(districts)],
                    "headteacher_name": f"Head {i}",
                    "headteacher_email": f"head{300000 + i}@list-school.example",
                    "slack_channel_id": "",
                    "teams_channel_id": "",
                }
                for i in range(schools)
            ]
            for start in range(0, len(school_rows), 500):
                await conn.execute(insert(School), school_rows[start : start + 500])
            window_rows = []
            for w in range(windows):
                year = 2021 + w // 2
                term = "autumn1" if w % 2 == 0 else "spring2"
                opens = datetime(year if term == "autumn1" else year + 1, 10 if term == "autumn1" else 2, 1, 9)
                window_rows.append(
                    {
                        "academic_year": f"{year}/{str(year + 1)[-2:]}",
                        "term": term,
                        "opens_at": opens.replace(tzinfo=now.tzinfo),
                        "closes_at": (opens + timedelta(days=42)).replace(tzinfo=now.tzinfo),
                        "eoi_counter": schools,
                        "announced_at": opens.replace(tzinfo=now.tzinfo),
                        "summarised_at": (opens + timedelta(days=42)).replace(tzinfo=now.tzinfo),
                        "created_by": "bench",
                    }
                )
            await conn.execute(insert(Window), window_rows)
            made = list(await conn.execute(select(Window).where(Window.created_by == "bench")))
            statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
            count = 0
            for window in made:
                code = window_code(window)  # type: ignore[arg-type]
                rows = []
                for i in range(schools):
                    status = rng.choices(statuses, weights)[0]
                    need = rng.choice(EOI_NEED_TYPES)
                    rows.append(
                        {
                            "ref": f"EOI-{code}-{i + 1:04d}",
                            "school_urn": str(300000 + i),
                            "window_id": window.id,
                            "status": status,
                            "primary_need": need,
                            "answers": {"provision_type": "resourced", "primary_need": need, "places": 12},
                            "cursor": "review" if status == eois.DRAFT else "declaration",
                            "changing": False,
                            "started_by": "bench",
                            "created_at": window.opens_at,
                            "updated_at": window.opens_at,
                            "submitted_at": None if status == eois.DRAFT else window.opens_at,
                        }
                    )
                for start in range(0, len(rows), 1000):
                    await conn.execute(insert(EOI), rows[start : start + 1000])
                count += len(rows)
        return count
    finally:
        await db.dispose()


async def in_process(url: str, rounds: int) -> dict[str, Any]:
    from bot.config import load_settings
    from bot.service import open_service
    from dialogs.turns import Speaker, Turn

    settings = load_settings(base_env(url))
    service = await open_service(settings)
    officer = Speaker("slack", OFFICER_SLACK, display_name="Olu Officer", email="officer@essex.example")
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    try:
        for q in QUERIES:  # warm up
            await service.conversations.handle(Turn(officer, text=q))
        for _ in range(rounds):
            for q in QUERIES:
                started = time.perf_counter()
                replies = await service.conversations.handle(Turn(officer, text=q))
                per_query[q].append(time.perf_counter() - started)
                assert replies and replies[0].kind == "list", (q, replies[0].text[:200])
    finally:
        await service.close()
    return summarise(per_query)


def summarise(per_query: dict[str, list[float]]) -> dict[str, Any]:
    everything = [x for xs in per_query.values() for x in xs]
    return {"all": latency_summary(everything), "per_query": {q: latency_summary(xs) for q, xs in per_query.items()}}


async def over_http(url: str, fake: FakeSlackWebApi, rounds: int, log_dir: Any) -> dict[str, Any]:
    waiter: asyncio.Future[float] | None = None
    last_text = ""

    def listener(call: RecordedCall) -> None:
        nonlocal last_text
        if call.method != "chat.postMessage" or call.args.get("channel") not in OFFICERS:
            return
        blob = str(call.args.get("text", ""))
        blocks = call.args.get("blocks")
        blob += blocks if isinstance(blocks, str) else json.dumps(blocks)
        last_text = blob[:300]
        if waiter is not None and not waiter.done() and LIST_REPLY.search(blob):
            waiter.set_result(time.perf_counter())

    for n, officer in enumerate(OFFICERS):
        fake.add_user(officer, f"officer{n}@essex.example", f"Olu Officer {n}")
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    fake.listeners.append(listener)
    env = base_env(url, slack_api_url=fake.base_url)
    env["EOI_OFFICERS"] += "".join(f",slack:{officer}" for officer in OFFICERS[1:])
    asked = 0
    try:
        async with serve(env, log_dir=log_dir) as served:
            events = served.url + "/slack/events"
            async with aiohttp.ClientSession() as http:

                async def ask(q: str) -> float:
                    nonlocal waiter, asked
                    waiter = asyncio.get_running_loop().create_future()
                    # Officers in turn: one alone would pass the 120 turns a minute a person may start
                    # (bot.turn_runner.TurnLimit) and be told to slow down.
                    body = sr.message_im_event_body(OFFICERS[asked % len(OFFICERS)], q)
                    asked += 1
                    started = time.perf_counter()
                    async with http.post(events, data=body.encode(), headers=sr.signed_headers(SECRET, body)) as r:
                        await r.read()
                        assert r.status == 200, r.status
                    try:
                        return await asyncio.wait_for(waiter, 30) - started
                    except TimeoutError:
                        raise RuntimeError(f"no list reply to {q!r}; last seen {last_text!r}") from None

                for q in QUERIES:  # warm up (users.info, first queries)
                    await ask(q)
                await asyncio.sleep(1.0)  # let the background loop finish announcing the demo window
                for _ in range(rounds):
                    for q in QUERIES:
                        per_query[q].append(await ask(q))
            rss = served.peak_rss_mb()
    finally:
        fake.listeners.remove(listener)
        fake.calls.clear()
    return {**summarise(per_query), "peak_rss_mb": rss}


async def run_officer_list(
    backend: Backend, fake: FakeSlackWebApi, log_dir: Any, *, schools: int, windows: int, rounds: int
) -> dict[str, Any]:
    url = await backend.fresh()
    try:
        started = time.perf_counter()
        count = await bulk_insert(url, schools=schools, windows=windows)
        insert_seconds = time.perf_counter() - started
        http = await over_http(url, fake, rounds, log_dir)
        local = await in_process(url, rounds)
        return {
            "eois": count,
            "insert_seconds": round(insert_seconds, 2),
            "rounds": rounds,
            "http": http,
            "in_process": local,
            "peak_rss_mb": http["peak_rss_mb"],
        }
    finally:
        await backend.drop(url)
