"""The demo service with the web form on, served on loopback for a browser or an HTTP client: the shape every web
form test starts from (tests/stories/web, tests/hostile/test_web_form_hostile.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.service import Service
from bot.web_links import WebLinks, school_link
from storage.clock import Clock
from storage.models import School
from tests.conftest import TestDatabase, make_settings, service_on_copy

BASE = "https://eoi.essex.example"  # as links name it; tests open the same path on the test server
SECRET = "a-web-secret-of-at-least-32-characters"
SCHOOL = "114001"  # the demo register names no chat channel for it


@dataclass
class Site:
    client: TestClient
    service: Service

    @property
    def links(self) -> WebLinks:
        return WebLinks(self.service.settings.web_base_url, SECRET)

    def on_server(self, link: str) -> str:
        """A link as the email names it, opened on the test server (same path)."""
        return str(self.client.make_url(urlsplit(link).path))

    async def link(self, urn: str = SCHOOL) -> str:
        """The school's link as `eoi-bot web-link` makes it: its path, to open on the test server."""
        async with self.service.db.session() as session:
            school = await session.get(School, urn)
            assert school is not None
            made = await school_link(session, self.links, school, self.service.clock.now())
        assert made is not None
        return urlsplit(made).path


@contextlib.asynccontextmanager
async def web_site(test_db: TestDatabase, clock: Clock, **settings: Any) -> AsyncIterator[Site]:
    db = await test_db.create(demo_at=clock.now())
    settings = {"web_base_url": BASE, "web_secret": SECRET, **settings}
    service = service_on_copy(make_settings(test_db.url, **settings), clock, db)
    app = build_app(service)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Site(client, service)
    finally:
        await client.close()
        await service.close()
