"""The aiohttp application: health now; Slack and Teams routes join it when enabled."""

from __future__ import annotations

import logging

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
    return app


def channel_summary(settings: Settings) -> list[str]:
    lines = [f"Database: {settings.database_url}"]
    lines.append(
        "Slack: on at POST /slack/events"
        if settings.slack_enabled
        else "Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to enable)"
    )
    return lines


def serve(settings: Settings, *, host: str, port: int) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def make() -> web.Application:
        service = await open_service(settings)
        app = build_app(service)

        async def close(_: web.Application) -> None:
            await service.close()

        app.on_cleanup.append(close)
        return app

    for line in channel_summary(settings):
        print(line)
    print(f"Serving on http://{host}:{port}  (health: /healthz)")
    print("Try the bot in a terminal: eoi-bot chat --as headteacher --school 114000  |  eoi-bot chat --as officer")
    web.run_app(make(), host=host, port=port, print=None)
    return 0
