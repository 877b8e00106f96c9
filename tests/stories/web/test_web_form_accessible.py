"""Every page of the web form meets WCAG 2.2 AA, as UK public sector websites must: axe-core finds no violation at
a laptop's width or a phone's (320 px, where nothing may scroll sideways), and every control is reached by the
keyboard alone. The pages are the ones a headteacher meets: signing in (and a link that doesn't work), each kind of
question, a refused answer, the check of answers, the confirmation, status, a form, signing out, a new link."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests import web_browser
from tests.web_site import Site, web_site

pytestmark = [
    pytest.mark.skipif(web_browser.missing() is not None, reason=web_browser.missing() or ""),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(params=["sqlite"])  # the pages, not the storage, are under test: one backend is enough
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def site(test_db, clock) -> AsyncIterator[Site]:
    async with web_site(test_db, clock) as site:
        yield site


class Checked:
    """Each page seen, checked once per kind of page (its heading), at both widths."""

    def __init__(self, laptop, phone) -> None:  # type: ignore[no-untyped-def]
        self.laptop, self.phone = laptop, phone
        self.problems: list[str] = []
        self.pages: list[str] = []

    async def check(self, url: str | None = None) -> None:
        if url is None:
            url = self.laptop.url
            html = await self.laptop.content()
        else:
            await self.laptop.goto(url)
            html = None
        heading = (await self.laptop.locator("h1").first.inner_text()).strip()
        self.pages.append(heading)
        for found in await web_browser.axe(self.laptop):
            self.problems.append(f"{heading} (laptop): {found}")
        for missed in await web_browser.unreachable_by_keyboard(self.laptop):
            self.problems.append(f"{heading}: not reached by Tab: {missed}")
        # The same page at 320 px: posted pages are drawn again from their HTML (a GET would change nothing).
        if html is None:
            await self.phone.goto(url)
        else:
            await self.phone.set_content(html)
        for found in await web_browser.axe(self.phone):
            self.problems.append(f"{heading} (phone): {found}")
        if await web_browser.scrolls_sideways(self.phone):
            self.problems.append(f"{heading}: scrolls sideways at 320 px")


async def test_every_page_of_the_web_form_passes_axe_and_works_by_keyboard_at_laptop_and_phone_widths(site: Site):
    async with web_browser.browser() as browser:
        laptop = await (await browser.new_context(viewport=web_browser.LAPTOP, bypass_csp=True)).new_page()
        phone = await (await browser.new_context(viewport=web_browser.PHONE, bypass_csp=True)).new_page()
        pages = Checked(laptop, phone)
        base = site.on_server("/web")
        await pages.check(base)  # not signed in
        await pages.check(base + "/sign-in/1.forged.link")
        await pages.check(base + "/new-link")
        await laptop.fill("#email", "not an address")
        await laptop.get_by_role("button", name="Send me a link").click()
        await pages.check()  # the error summary
        await laptop.fill("#email", "someone@nowhere.example")
        await laptop.get_by_role("button", name="Send me a link").click()
        await pages.check()  # check your email
        await pages.check(base + "/no-such-page")

        await laptop.goto(site.on_server(await site.link()))
        await pages.check()  # status, just signed in
        await laptop.get_by_role("button", name="Start").click()
        kinds = set()
        for _ in range(60):
            form = laptop.locator("form[data-question]")
            if not await form.count():
                break
            kind = await form.get_attribute("data-type")
            if kind not in kinds:
                kinds.add(kind)
                await pages.check()
                if kind == "date":  # a refused answer: the error summary, linked to the box
                    await laptop.fill("#answer", "the twelfth of never")
                    await laptop.get_by_role("button", name="Continue").click()
                    assert await laptop.locator(".govuk-error-summary a[href='#answer']").count()
                    await pages.check()
                if kind == "single":  # nothing chosen: the page says so itself
                    await laptop.get_by_role("button", name="Continue").click()
                    assert "Select an option" in await laptop.inner_text(".govuk-error-summary")
                    await pages.check()
            await web_browser.answer_question(laptop)
        assert {"single", "multi", "number", "date", "long_text", "files", "short_text", "email"} <= kinds, kinds
        await pages.check()  # check your answers
        await laptop.get_by_role("button", name="Submit").click()
        await web_browser.answer_question(laptop)
        await pages.check()  # the confirmation panel
        await laptop.get_by_role("button", name="Help").click()
        await pages.check()
        await laptop.get_by_role("button", name="Sign out").click()
        await pages.check()
    assert not pages.problems, "\n".join(pages.problems)
    print(f"axe: 0 violations on {len(pages.pages)} pages at 1280 and 320 px")
