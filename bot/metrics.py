"""`GET /metrics` in Prometheus' text format (prometheus-client), when EOI_METRICS=1.

What is counted in this process (turns, their latency, 429s received, deliveries finished) is updated as it
happens; what the database knows (deliveries on record by status, how late the window scheduler is) is read at
each scrape, so every replica reports the same numbers for those: sum the counters over replicas, take max() of
the database gauges.

With `serve --workers N` each worker counts into files in one folder (prometheus-client's multiprocess mode: the
parent sets PROMETHEUS_MULTIPROC_DIR before it starts them), and whichever worker answers a scrape reports them all:
counters and histograms summed over the workers, `eoi_scheduler_held` summed over the live ones (1: exactly one
runs the schedule), the database's gauges as last read. Process metrics (memory, CPU) are then left out, as they
would describe only the worker that happened to answer.

Never public: the route exists only with EOI_METRICS=1, and answers only a request carrying
`Authorization: Bearer <EOI_METRICS_TOKEN>` (401 otherwise). A loopback-only rule would not do: behind a reverse
proxy on the same machine every request, from anywhere, arrives from 127.0.0.1.
"""

from __future__ import annotations

import hmac
import logging
import os
from datetime import datetime

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from dialogs.schedule import steps_to_come
from storage.clock import Clock
from storage.db import Database
from storage.models import Delivery, Window

log = logging.getLogger("eoi-bot.metrics")

# One registry for the process (turns are counted whichever Service runs them); not prometheus-client's global
# default, so importing this module adds nothing to anyone else's.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # set by `serve --workers` for its workers
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

TURNS = Counter(
    "eoi_turns",
    "Turns handled, by channel (slack, msteams, console) and outcome (answered, repeated: a redelivery "
    "handled once already, failed: the person got the apology)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
TURN_SECONDS = Histogram(
    "eoi_turn_seconds",
    "Seconds from a turn arriving to its replies sent, by channel",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "eoi_rate_limited", "429 (rate limited) answers received from a platform", ["platform"], registry=REGISTRY
)
DELIVERIES_FINISHED = Counter(
    "eoi_deliveries_finished",
    "Proactive messages this process finished sending, by platform and status (sent, failed)",
    ["platform", "status"],
    registry=REGISTRY,
)
DELIVERIES = Gauge(
    "eoi_deliveries",
    "Proactive messages on record, by status (pending, sending, sent, failed); read from the database",
    ["status"],
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
SCHEDULER_OVERDUE = Gauge(
    "eoi_scheduler_overdue_seconds",
    "How long the oldest due window step (announcement, reminder, close summary) has waited; 0 when none is "
    "due. Read from the database: above a minute or so, no scheduler is running",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
SCHEDULER_RAN = Gauge(
    "eoi_scheduler_last_run_timestamp_seconds",
    "When the schedule last finished a round here (Unix time; the latest of the workers')",
    registry=REGISTRY,
    multiprocess_mode="max",
)
SCHEDULER_HELD = Gauge(
    "eoi_scheduler_held",
    "1 in the one process of the deployment that runs the schedule (it holds the lease), else 0; with workers, "
    "summed over the live ones",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DATABASE_UP = Gauge(
    "eoi_database_up",
    "1 when the database answered this scrape, else 0",
    registry=REGISTRY,
    multiprocess_mode="mostrecent",
)
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")


async def read_database(db: Database, now: datetime) -> None:
    """Set the gauges the database knows: deliveries by status and the scheduler's lag."""
    async with db.session() as session:
        counts = dict((await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))).all())
        windows = await session.scalars(select(Window).where(Window.cancelled_at.is_(None)))
        due = [step.due for window in windows for step in steps_to_come(window, now) if step.due <= now]
    for status in DELIVERY_STATUSES:
        DELIVERIES.labels(status).set(counts.get(status, 0))
    SCHEDULER_OVERDUE.set(max(0.0, (now - min(due)).total_seconds()) if due else 0.0)


def scraped() -> CollectorRegistry:
    """What a scrape reports: this process's registry, or every worker's (multiprocess mode)."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return REGISTRY
    every_worker = CollectorRegistry()
    MultiProcessCollector(every_worker)
    return every_worker


def _authorised(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: how long the comparison takes says nothing about how much of the token was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def attach_metrics(app: web.Application, *, db: Database, clock: Clock, token: str) -> None:
    """`GET /metrics`, reading the service's database and clock (handed in: the app and the service import this
    module, not the other way round)."""

    async def serve_metrics(request: web.Request) -> web.Response:
        if not _authorised(request, token):
            return web.Response(
                status=401,
                text="401: a bearer token is needed\n",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        try:
            await read_database(db, clock.now())
            DATABASE_UP.set(1)
        except Exception as error:  # a scrape reports the database down rather than failing
            log.warning("metrics: the database did not answer (%s)", type(error).__name__)
            DATABASE_UP.set(0)
        return web.Response(body=generate_latest(scraped()), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", serve_metrics)
