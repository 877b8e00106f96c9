"""A school that no Slack or Teams channel reaches sends its EOI on the web form: the window's email carries its
personal link (caught by a real SMTP server on loopback), the link opens the form in a real browser (Debian's
Chromium driven by Playwright), the headteacher answers every question, checks the answers and sends it, then
changes an answer and sends it again; an officer in Slack sees it."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.announce import run_once
from tests import real_files, web_browser
from tests.fakes.smtp_server import Inbox, smtp_server  # noqa: F401
from tests.slack_fixtures import OFFICER_ID, Workspace, slack_workspace

pytestmark = [
    pytest.mark.skipif(web_browser.missing() is not None, reason=web_browser.missing() or ""),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
BASE = "https://eoi.essex.example"  # as the links name it; the test opens the same path on the test server
SECRET = "a-web-secret-of-at-least-32-characters"
SCHOOL = "114001"  # the demo register names no chat channel for it: it is written to by email
HEAD = f"head{SCHOOL}@demo-school.example"


@pytest.fixture
async def county(test_db, clock, smtp_server) -> AsyncIterator[tuple[Workspace, Inbox]]:  # noqa: F811
    url, inbox = smtp_server
    async with slack_workspace(
        test_db, clock, web_base_url=BASE, web_secret=SECRET, smtp_url=url, mail_from="eoi-bot@essex.example"
    ) as ws:
        ws.service.dispatcher.backoff = 0.01
        yield ws, inbox


def on_test_server(ws: Workspace, link: str) -> str:
    return str(ws.client.make_url(urlsplit(link).path))


async def walk_to_the_review(page) -> list[str]:  # type: ignore[no-untyped-def]
    asked = []
    attached = False
    for _ in range(60):
        before = await page.inner_text("main")
        if not attached and await page.locator("form[data-question=attachments]").count():
            # A site plan, sent from the computer's files: the page's file box, posted as multipart.
            plan = {"name": "site-plan.pdf", "mimeType": "application/pdf", "buffer": real_files.pdf()}
            await page.set_input_files("#answer", files=[plan])
            await page.get_by_role("button", name="Upload").click()
            assert "site-plan.pdf" in await page.inner_text("main")
            attached = True
        question = await web_browser.answer_question(page)
        if not question:
            return asked
        assert await page.locator(".govuk-error-summary").count() == 0, (before, await page.inner_text("main"))
        asked.append(question)
    raise AssertionError(f"still asking after {asked}")


async def test_a_school_only_email_reaches_sends_its_eoi_from_the_emailed_link_and_an_officer_in_slack_sees_it(
    county,
):
    ws, inbox = county
    await run_once(ws.service)  # the window's announcement: by email to the schools no chat reaches
    mail = inbox.to(HEAD)[0]
    text = mail.part("plain")
    link = re.search(rf"{re.escape(BASE)}/web/sign-in/\S+?(?=>|\s)", text)
    assert link, text
    assert "please don't forward" in text and "works for 14 days" in text
    assert f'href="{link.group(0)}"' in mail.part("html")

    started = time.monotonic()
    async with web_browser.browser() as browser:
        page = await browser.new_page(viewport=web_browser.LAPTOP)
        await page.goto(on_test_server(ws, link.group(0)))
        # The token is swapped for a session at once: the address bar, history and any Referer hold no token.
        assert urlsplit(page.url).path == "/web"
        assert "Hillcrest Primary School" in await page.inner_text("nav")
        await page.get_by_role("button", name="Start").click()
        asked = await walk_to_the_review(page)
        assert asked[0] == "provision_type" and "contact_phone" in asked and len(asked) >= 20
        assert await page.inner_text("h1") == "Check your answers"
        assert "Headteacher" in await page.inner_text("main") and "site-plan.pdf" in await page.inner_text("main")
        await page.get_by_role("button", name="Submit").click()
        await web_browser.answer_question(page)  # "I confirm and submit"
        panel = await page.inner_text(".govuk-panel")
        reference = re.search(r"EOI-\w+-\d+", panel)
        assert reference and "Expression of interest sent" in panel
        walked = time.monotonic() - started
        async with page.expect_download() as downloading:  # the PDF copy for the governors
            await page.get_by_role("link", name=re.compile(r"Download .*\.pdf")).click()
        copy = await (await downloading.value).path()
        assert Path(copy).read_bytes()[:5] == b"%PDF-"

        # The school changes an answer and sends it again, from its status page.
        await page.get_by_role("button", name="Status").click()
        await page.get_by_role("button", name="See the answers").click()
        await page.get_by_role("button", name="Change my answers").click()
        await page.get_by_role("button", name="Change Contact role").click()
        await page.fill("#answer", "Executive headteacher")
        await page.get_by_role("button", name="Continue").click()
        assert await page.inner_text("h1") == "Check your answers"
        assert "Executive headteacher" in await page.inner_text("main")
        await page.get_by_role("button", name="Submit").click()
        await web_browser.answer_question(page)
        assert reference.group(0) in await page.inner_text(".govuk-panel")

    # An officer in Slack is told, and sees the school's answers as sent.
    await ws.deliver_notices()
    officer = ws.person(OFFICER_ID)
    told = " ".join(m.get("text", "") for m in ws.posted_to(OFFICER_ID))
    assert reference.group(0) in told
    await officer.types(f"show {reference.group(0)}")
    shown = officer.heard
    assert "Executive headteacher" in shown and "submitted" in shown.lower()
    print(f"web story: emailed link to confirmation panel in {walked:.1f} s ({len(asked)} questions)")
