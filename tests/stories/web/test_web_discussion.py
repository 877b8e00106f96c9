"""A school on the web form answers its discussion invitation as a school in chat does: it sees the invitation on
its status page, asks for another time and says which times suit, in words; ECC is told."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.models import Discussion
from tests import web_browser
from tests.chat import complete_eoi, headteacher, officer
from tests.web_site import SCHOOL, Site, web_site

pytestmark = [
    pytest.mark.skipif(web_browser.missing() is not None, reason=web_browser.missing() or ""),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
async def site(test_db, clock) -> AsyncIterator[Site]:
    async with web_site(test_db, clock) as site:
        yield site


async def test_a_school_on_the_web_asks_for_another_discussion_time_in_words(site: Site):
    # The school's EOI (sent from the console here, for speed), shortlisted and a discussion booked by an officer.
    head = await headteacher(site.service, urn=SCHOOL, user="head-web")
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    desk = officer(site.service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")

    async with web_browser.browser() as browser:
        page = await browser.new_page(viewport=web_browser.LAPTOP)
        await page.goto(site.on_server(await site.link()))
        status = await page.inner_text("main")
        assert ref in status and "discussion" in status.lower()
        await page.get_by_role("button", name=re.compile("another time", re.IGNORECASE)).first.click()
        assert "Which times would suit" in await page.inner_text("h1")
        await page.fill("#answer", "Thursday 10 December at 2pm, or Friday 11 December at 9am")
        await page.get_by_role("button", name="Continue").click()
        told = await page.inner_text("main")
        assert "Thursday 10 December" in told and "ECC" in told

    async with site.service.db.session() as session:
        discussion = await session.scalar(select(Discussion))
        assert discussion is not None and discussion.response == "another time requested"
