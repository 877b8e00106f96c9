"""The web form's pages for the README (`make screenshots`): a question, a refused answer, the check of answers and
the confirmation, at a laptop's width and a phone's, from a demo school's walk through its EOI in Chromium."""

from __future__ import annotations

from pathlib import Path

from storage.clock import Clock
from tests import web_browser
from tests.conftest import NOW, TestDatabase
from tests.web_site import web_site

WIDTHS = {"laptop": web_browser.LAPTOP, "phone": web_browser.PHONE}


async def web_pages(folder: Path, out: Path) -> list[Path]:
    written: list[Path] = []
    async with web_site(TestDatabase("sqlite", folder), Clock(NOW)) as site, web_browser.browser() as browser:
        page = await browser.new_page(viewport=web_browser.LAPTOP)

        async def shoot(name: str) -> None:
            for width, viewport in WIDTHS.items():  # the page as drawn, narrowed: nothing is asked again
                await page.set_viewport_size(viewport)
                path = out / f"web-{name}-{width}.png"
                await page.screenshot(path=str(path), full_page=width == "phone" or name != "review")
                written.append(path)
            await page.set_viewport_size(web_browser.LAPTOP)

        await page.goto(site.on_server(await site.link()))
        await page.get_by_role("button", name="Start").click()
        await shoot("question")
        while await page.locator("form[data-question]").count():
            if await page.locator("form[data-question]").get_attribute("data-type") == "date":
                await page.fill("#answer", "next tuesdy")
                await page.get_by_role("button", name="Continue").click()
                await shoot("problem")
                break
            await web_browser.answer_question(page)
        while await web_browser.answer_question(page):
            pass
        await shoot("review")
        await page.get_by_role("button", name="Submit").click()
        await web_browser.answer_question(page)
        await shoot("sent")
    return written
