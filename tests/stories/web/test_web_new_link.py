"""A headteacher whose link has expired asks for a new one: the email arrives (a real SMTP server on loopback) with
a link that opens the school's form; an address the register doesn't hold gets the same page and no email."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.fakes.smtp_server import Inbox, smtp_server  # noqa: F401
from tests.web_site import SCHOOL, Site, web_site

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
HEAD = f"head{SCHOOL}@demo-school.example"


@pytest.fixture
async def mailing(test_db, clock, smtp_server) -> AsyncIterator[tuple[Site, Inbox]]:  # noqa: F811
    url, inbox = smtp_server
    async with web_site(
        test_db, clock, web_base_url="http://eoi.test", smtp_url=url, mail_from="eoi@essex.example"
    ) as site:
        site.service.dispatcher.backoff = 0.01
        yield site, inbox


async def test_a_head_asks_for_a_new_link_and_it_opens_the_form(mailing):
    site, inbox = mailing
    expired = await site.link()
    site.service.clock.advance(timedelta(days=15))
    refused = await site.client.get(expired, allow_redirects=False)
    assert refused.status == 400 and "Get a new link" in html.unescape(await refused.text())

    page = await site.client.get("/web/new-link")
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    for address in (HEAD, "someone.else@nowhere.example"):
        sent = await site.client.post("/web/new-link", data={"csrf": token, "email": address})
        assert sent.status == 200 and "Check your email" in await sent.text()
    await site.service.dispatcher.plan_notices()
    await site.service.dispatcher.run_due()

    assert [m.to for m in inbox.received] == [[HEAD]]  # the register's address only
    text = inbox.to(HEAD)[0].part("plain")
    link = re.search(r"http://eoi\.test/web/sign-in/\S+?(?=>|\s)", text)
    assert link and "You asked for a new link" in text
    opened = await site.client.get(urlsplit(link.group(0)).path, allow_redirects=False)
    assert opened.status == 303
    assert "Hillcrest Primary School" in html.unescape(await (await site.client.get("/web")).text())
