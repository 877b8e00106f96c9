"""Secrets stay secret: the start-up banner never prints the database password, and `/healthz` says only
"ok" or "not ok", never the driver's words (which name hosts, users and paths)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app, channel_summary
from bot.config import load_settings
from storage.db import Database
from tests import conftest
from tests.conftest import POSTGRES

PASSWORD = "s3cret-Pa55word"


def test_the_start_up_banner_masks_the_database_password() -> None:
    settings = load_settings({"DATABASE_URL": f"postgresql+asyncpg://eoi:{PASSWORD}@db.example:5432/eoi"})
    banner = "\n".join(channel_summary(settings))
    assert PASSWORD not in banner
    assert "postgresql+asyncpg://eoi:***@db.example:5432/eoi" in banner


async def test_eoi_bot_serve_prints_no_password(tmp_path: Path) -> None:
    """The banner of a real `eoi-bot serve` on PostgreSQL, in a schema of its own (trust auth here ignores the
    password the URL carries)."""
    if not POSTGRES:
        pytest.skip("PostgreSQL not answering")
    schema = conftest.TestDatabase("postgres", tmp_path)
    await schema.create()
    try:
        _serve_and_check(schema.env_url.replace("postgres@", f"postgres:{PASSWORD}@"))
    finally:
        await schema.drop()


def _serve_and_check(url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "EOI_", "DATABASE_"))}
    env.update(DATABASE_URL=url, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Serving on"):
                break
    finally:
        process.terminate()
        process.wait(timeout=10)
    output = "".join(lines)
    assert "Serving on" in output, output
    assert "Database:" in output and PASSWORD not in output
    assert "Teams: off" in output  # no app id and no emulator mode: no /api/messages


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
