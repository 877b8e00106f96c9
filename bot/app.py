"""The aiohttp application: health now; Slack and Teams routes join it when enabled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import text

from bot import logs, metrics
from bot.config import TEAMS_SDK_NAMES, Settings
from bot.service import Service, enforce_officers, open_service
from storage.scheduler_lease import SchedulerLease

log = logging.getLogger("eoi-bot")
SERVICE = web.AppKey("service", Service)


async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    try:
        async with service.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:  # the point of a health check is to report, not raise
        # The driver's words can name hosts, users and paths: they go to the log (the type only), never out.
        log.warning("health check: the database did not answer (%s)", type(error).__name__)
        return web.json_response({"status": "not ok"}, status=503)
    return web.json_response({"status": "ok"})


def build_app(service: Service) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICE] = service
    app.router.add_get("/healthz", healthz)
    if service.settings.metrics:
        from bot.metrics import attach_metrics

        attach_metrics(app, db=service.db, clock=service.clock, token=service.settings.metrics_token)
    if service.settings.slack_enabled:
        from bot.slack_adapter import attach_slack

        attach_slack(app, service)
    if service.settings.teams_enabled:
        from bot.teams_channel import TeamsChannel, attach_teams

        # Only the SDK asked for is imported (EOI_TEAMS_SDK): each is a second or so of start-up.
        sdk: type[TeamsChannel]
        if service.settings.teams_sdk == "agents":
            from bot.teams_agents import AgentsTeams as sdk
        else:
            from bot.teams_adapter import BotbuilderTeams as sdk
        attach_teams(app, service, sdk)
    if service.settings.web_enabled:
        from bot.web_channel import attach_web

        attach_web(app, service)
    if service.settings.email_enabled:
        from bot.email_sender import attach_email

        attach_email(service)
    return app


def channel_summary(settings: Settings) -> list[str]:
    lines = [f"Database: {settings.database_url_masked}"]
    if settings.slack_enabled and settings.slack_socket_mode:
        lines.append("Slack: on over Socket Mode (SLACK_APP_TOKEN): connects out to Slack; no /slack/events route")
    elif settings.slack_enabled:
        lines.append("Slack: on at POST /slack/events")
    else:
        lines.append(
            "Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or SLACK_BOT_TOKEN and SLACK_APP_TOKEN for "
            "Socket Mode)"
        )
    sdk = f"on {TEAMS_SDK_NAMES[settings.teams_sdk]}: EOI_TEAMS_SDK={settings.teams_sdk}"
    if settings.microsoft_app_id:
        lines.append(f"Teams: on at POST /api/messages (Microsoft App ID {settings.microsoft_app_id}, {sdk})")
    elif settings.teams_emulator:
        lines.append(
            "WARNING: Teams in EMULATOR MODE (EOI_TEAMS_EMULATOR=1): POST /api/messages has NO AUTHENTICATION and "
            f"accepts only loopback serviceUrls ({sdk}). For local testing only: never expose this port."
        )
    else:
        lines.append("Teams: off (set MICROSOFT_APP_ID, or EOI_TEAMS_EMULATOR=1 for local testing)")
    if settings.email_enabled:
        from bot.config import SmtpServer

        lines.append(
            f"Email: on via {SmtpServer.parse(settings.smtp_url).shown} from {settings.mail_from}, for schools with "
            "no Slack or Teams destination"
        )
    else:
        lines.append("Email: off (set SMTP_URL and EOI_MAIL_FROM to write to schools no chat channel reaches)")
    if settings.web_enabled:
        lines.append(f"Web form: on at {settings.web_base_url}/web, for schools no chat reaches (signed emailed links)")
    else:
        lines.append("Web form: off (set EOI_WEB_BASE_URL and EOI_WEB_SECRET to let schools answer in a browser)")
    if settings.teams_enabled and settings.teams_tenants:
        lines.append(f"Teams tenants allowed: {', '.join(sorted(settings.teams_tenants))}")
    if settings.metrics:
        lines.append("Metrics: on at GET /metrics (Authorization: Bearer EOI_METRICS_TOKEN)")
    return lines


async def recheck_school_links(service: Service) -> list[str]:
    """The daily re-check of headteachers' register links (imports re-check too): a head whose email the register
    no longer names loses the school, and someone it now names gains it."""
    from storage import people

    async with service.db.session() as session:
        lines = await people.recheck_register_links(session, now=service.clock.now(), actor="daily register check")
        await session.commit()
    for line in lines:
        log.info(line)
    return lines


def housekeeping(service: Service, lease: SchedulerLease | None = None):  # type: ignore[no-untyped-def]
    """What the scheduler does before each delivery round: plan due announcements, reminders, milestones and
    follow-ups, forget platform delivery ids hourly, and once a day (and at start-up) re-check headteachers'
    register links and apply the retention periods (storage.retention). Only in the process holding the
    schedule's lease (storage.scheduler_lease: one per deployment, taken over when its holder dies); every process
    still sends what is due (bot.delivery claims each delivery once)."""
    from dialogs.schedule import plan_due
    from storage import events, retention

    pruned_at = 0.0
    retained_at: datetime | None = None
    running = False

    async def due() -> None:
        nonlocal pruned_at, retained_at, running
        if lease is not None:
            try:
                holds = await lease.held()
            except Exception as error:  # the database is away: the delivery round reports it too
                log.warning("could not ask who runs the schedule (%s)", type(error).__name__)
                holds = False
            if holds != running:
                running = holds
                if holds:
                    log.info("this process (pid %d) runs the schedule", os.getpid())
                    metrics.SCHEDULER_HELD.set(1)
                else:
                    log.info("another process runs the schedule now")
                    metrics.SCHEDULER_HELD.set(0)
            if not holds:
                return
        async with service.db.session() as session:
            planned = await plan_due(session, service.clock.now(), reach=service.dispatcher.school_destinations)
        for line in planned.lines:
            log.info(line)
        if asyncio.get_running_loop().time() - pruned_at > 3600:
            # Platform delivery ids are kept a week: far longer than Slack or Teams redeliver.
            await events.forget_older_than(service.db, service.clock.now(), days=7)
            pruned_at = asyncio.get_running_loop().time()
        now = service.clock.now()
        if retained_at is None or now - retained_at >= timedelta(days=1):
            # Daily by the service's clock, and on start-up: periods are in days, so that is soon enough.
            await recheck_school_links(service)
            async with service.db.session() as session:
                report = await retention.apply(session, now, service.settings.retention_days)
            for line in report.lines:
                log.info(line)
            retained_at = now
        metrics.SCHEDULER_RAN.set_to_current_time()

    return due


def background(service: Service):  # type: ignore[no-untyped-def]
    """The scheduler and the delivery loop, running for as long as the web service runs."""

    async def loop(_: web.Application):  # type: ignore[no-untyped-def]
        lease = SchedulerLease(service.db)
        task = asyncio.create_task(service.dispatcher.run_forever(before_each=housekeeping(service, lease)))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):  # hand the schedule on at once; a crash hands it on anyway
            await lease.release()

    return loop


def serve(settings: Settings, *, host: str, port: int, workers: int = 1, worker: bool = False) -> int:
    """The web service; with `workers` > 1, that many processes serving one port (SO_REUSEPORT: the kernel
    spreads connections between them), each with its own dispatcher (deliveries are claimed once through
    PostgreSQL, as between replicas); one of them, the holder of the schedule's lease, runs the schedule."""
    if workers > 1:
        return _serve_workers(settings, host=host, port=port, workers=workers)
    logs.configure(settings.log_format)

    async def make() -> web.Application:
        from dialogs.dates import warm_up

        service = await open_service(settings)
        if not worker:  # the parent of the workers did it once, before starting them
            await enforce_officers(service)
        warm_up()  # dateparser loads its language data on first use: pay that now, not in a user's turn
        app = build_app(service)
        app.cleanup_ctx.append(background(service))

        async def close(_: web.Application) -> None:
            await service.close()

        app.on_cleanup.append(close)
        # Said once the database has answered, so a service that can't start never claims to be serving.
        if worker:
            log.info("worker %d serving on http://%s:%d", os.getpid(), host, port)
            return app
        print(f"Serving on http://{host}:{port}  (health: /healthz)")
        try_it = f"{command} chat --as headteacher --school 114000  |  {command} chat --as officer"
        print(f"Try the bot in a terminal: {try_it}")
        return app

    if not worker:
        for line in channel_summary(settings):
            print(line)
    if settings.teams_emulator and not worker:
        log.warning("Teams emulator mode: /api/messages is unauthenticated (loopback serviceUrls only)")
    command = "eoi-bot"
    if sys.argv[0].endswith("eoi-bot"):  # e.g. `make run` starts .venv/bin/eoi-bot: show that path
        relative = os.path.relpath(sys.argv[0])
        command = relative if not relative.startswith("..") else sys.argv[0]
    # No per-request access log: it cost about 3% of a turn, and the audit log records what matters.
    web.run_app(make(), host=host, port=port, print=None, access_log=None, reuse_port=worker or None)
    return 0


def _forget_worker(pid: int | None) -> None:
    """A worker gone: its live gauges (who holds the schedule) no longer count in /metrics."""
    if pid and os.environ.get(metrics.MULTIPROCESS_DIR):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def _serve_worker(settings: Settings, host: str, port: int) -> None:
    raise SystemExit(serve(settings, host=host, port=port, worker=True))


def _serve_workers(settings: Settings, *, host: str, port: int, workers: int) -> int:
    """Migrate and settle the officers once, then start `workers` processes on one port and wait. A signal stops
    them all; a worker killed from outside is replaced (another takes the schedule over); a worker that exits by
    itself, or dies as it starts, stops them all."""
    import multiprocessing
    import multiprocessing.process
    import shutil
    import signal
    import tempfile
    import time

    if not settings.database_url.startswith("postgresql"):
        raise ValueError(
            "--workers needs PostgreSQL (DATABASE_URL=postgresql+asyncpg://…): SQLite has one writer at a time, "
            "so a second process adds waiting, not speed"
        )

    async def prepare() -> None:
        service = await open_service(settings)  # migrations run here, once, not in every worker at once
        try:
            await enforce_officers(service)
        finally:
            await service.close()

    logs.configure(settings.log_format)
    asyncio.run(prepare())
    for line in channel_summary(settings):
        print(line)
    if settings.metrics:
        # Every worker counts into this folder, and a scrape of any one reports them all (bot/metrics.py). Set
        # before the workers start: prometheus-client reads it when it is first imported, in each new interpreter.
        os.environ[metrics.MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="eoi-bot-metrics-")
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each: no event loop or pool inherited
    started: dict[int, float] = {}  # process sentinel -> when it started (monotonic)

    def start(n: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_serve_worker, args=(settings, host, port), name=f"eoi-bot worker {n + 1}")
        process.start()
        started[process.sentinel] = time.monotonic()
        return process

    processes = [start(n) for n in range(workers)]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"Serving on http://{host}:{port} with {workers} worker processes  (health: /healthz)", flush=True)
    from multiprocessing.connection import wait

    while not stopping:
        ended = wait([p.sentinel for p in processes])
        if stopping:
            break
        dead = next(p for p in processes if p.sentinel in ended)
        dead.join()
        _forget_worker(dead.pid)
        # A worker killed from outside (the OOM killer, a SIGKILL) after it had been serving is replaced, and the
        # schedule passes to another worker (storage.scheduler_lease). One that exits by itself, or dies as it
        # starts, is a fault that a new one would repeat: that ends them all, as before.
        if dead.exitcode is not None and dead.exitcode < 0 and time.monotonic() - started[dead.sentinel] > 5:
            log.warning("%s (pid %s) was killed (signal %d): starting another", dead.name, dead.pid, -dead.exitcode)
            processes[processes.index(dead)] = start(processes.index(dead))
            continue
        break
    stop(signal.SIGTERM, None)
    for process in processes:
        process.join(15)
        if process.is_alive():
            process.kill()
            process.join()
    if os.environ.get(metrics.MULTIPROCESS_DIR):
        shutil.rmtree(os.environ[metrics.MULTIPROCESS_DIR], ignore_errors=True)
    return next((abs(p.exitcode) for p in processes if p.exitcode), 0)
