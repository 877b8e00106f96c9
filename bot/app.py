"""The aiohttp application: health now; Slack and Teams routes join it when enabled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import sys

from aiohttp import web
from sqlalchemy import text

from bot.config import Settings
from bot.service import Service, open_service

log = logging.getLogger("eoi-bot")
SERVICE = web.AppKey("service", Service)


async def healthz(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    try:
        async with service.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:  # the point of a health check is to report, not raise
        return web.json_response({"status": "unhealthy", "database": str(error)[:200]}, status=503)
    return web.json_response({"status": "ok", "slack": service.settings.slack_enabled, "teams": True})


def build_app(service: Service) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICE] = service
    app.router.add_get("/healthz", healthz)
    if service.settings.slack_enabled:
        from bot.slack_adapter import attach_slack

        attach_slack(app, service)
    from bot.teams_adapter import attach_teams

    attach_teams(app, service)
    return app


def channel_summary(settings: Settings) -> list[str]:
    lines = [f"Database: {settings.database_url}"]
    lines.append(
        "Slack: on at POST /slack/events"
        if settings.slack_enabled
        else "Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to enable)"
    )
    lines.append(
        f"Teams: on at POST /api/messages (Microsoft App ID {settings.microsoft_app_id})"
        if settings.microsoft_app_id
        else "Teams: on at POST /api/messages in emulator mode, no authentication (set MICROSOFT_APP_ID for Teams)"
    )
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


def background(service: Service):  # type: ignore[no-untyped-def]
    """The scheduler and the delivery loop, running for as long as the web service runs."""

    async def loop(_: web.Application):  # type: ignore[no-untyped-def]
        from bot.announce import plan_due
        from storage import events

        pruned_at = 0.0
        rechecked_at = -math.inf  # at start-up, then daily

        async def due() -> None:
            nonlocal pruned_at, rechecked_at
            async with service.db.session() as session:
                planned = await plan_due(session, service.clock.now())
            for line in planned.lines:
                log.info(line)
            if asyncio.get_running_loop().time() - pruned_at > 3600:
                # Platform delivery ids are kept a week: far longer than Slack or Teams redeliver.
                await events.forget_older_than(service.db, service.clock.now(), days=7)
                pruned_at = asyncio.get_running_loop().time()
            if asyncio.get_running_loop().time() - rechecked_at > 24 * 3600:
                await recheck_school_links(service)
                rechecked_at = asyncio.get_running_loop().time()

        task = asyncio.create_task(service.dispatcher.run_forever(before_each=due))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return loop


def serve(settings: Settings, *, host: str, port: int) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def make() -> web.Application:
        from dialogs.dates import warm_up

        service = await open_service(settings)
        warm_up()  # dateparser loads its language data on first use: pay that now, not in a user's turn
        app = build_app(service)
        app.cleanup_ctx.append(background(service))

        async def close(_: web.Application) -> None:
            await service.close()

        app.on_cleanup.append(close)
        return app

    for line in channel_summary(settings):
        print(line)
    print(f"Serving on http://{host}:{port}  (health: /healthz)")
    command = "eoi-bot"
    if sys.argv[0].endswith("eoi-bot"):  # e.g. `make run` starts .venv/bin/eoi-bot: show that path
        relative = os.path.relpath(sys.argv[0])
        command = relative if not relative.startswith("..") else sys.argv[0]
    print(f"Try the bot in a terminal: {command} chat --as headteacher --school 114000  |  {command} chat --as officer")
    # No per-request access log: it cost about 3% of a turn, and the audit log records what matters.
    web.run_app(make(), host=host, port=port, print=None, access_log=None)
    return 0
