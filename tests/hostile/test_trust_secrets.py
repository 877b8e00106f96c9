"""Secrets stay secret: the start-up banner never prints the database password, and `/healthz` says only
"ok" or "not ok", never the driver's words (which name hosts, users and paths)."""

from __future__ import annotations

import os
import subprocess
import sys

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app, channel_summary
from bot.config import load_settings
from storage.db import Database

PASSWORD = "s3cret-Pa55word"


def test_the_start_up_banner_masks_the_database_password() -> None:
    settings = load_settings({"DATABASE_URL": f"postgresql+asyncpg://eoi:{PASSWORD}@db.example:5432/eoi"})
    banner = "\n".join(channel_summary(settings))
    assert PASSWORD not in banner
    assert "postgresql+asyncpg://eoi:***@db.example:5432/eoi" in banner


def test_eoi_bot_serve_whose_database_does_not_answer_says_so_plainly_without_the_password() -> None:
    """A real `eoi-bot serve` with a PostgreSQL URL carrying a password, at an address where nothing listens:
    the banner and the refusal name the database with the password masked, and there is no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "EOI_", "DATABASE_"))}
    env.update(DATABASE_URL=f"postgresql+asyncpg://eoi:{PASSWORD}@127.0.0.1:1/eoi", PYTHONUNBUFFERED="1")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Database: postgresql+asyncpg://eoi:***@127.0.0.1:1/eoi" in output
    assert "eoi-bot: the database at postgresql+asyncpg://eoi:***@127.0.0.1:1/eoi could not be opened" in output
    assert "Teams: off" in output  # no app id and no emulator mode: no /api/messages
    assert PASSWORD not in output and "Traceback" not in output and "Serving on" not in output


async def test_healthz_says_not_ok_without_the_drivers_words(service) -> None:
    async with TestClient(TestServer(build_app(service))) as client:
        healthy = await client.get("/healthz")
        assert healthy.status == 200 and await healthy.json() == {"status": "ok"}
        # The database stops answering (port 1 refuses), and its URL carries a password.
        broken = Database(f"postgresql+asyncpg://eoi:{PASSWORD}@127.0.0.1:1/eoi")
        real, service.db = service.db, broken
        try:
            response = await client.get("/healthz")
            body = await response.text()
        finally:
            service.db = real
            await broken.dispose()
    assert response.status == 503
    assert await response.json() == {"status": "not ok"}
    for leak in (PASSWORD, "127.0.0.1", "eoi", "refused", "Errno"):
        assert leak not in body
