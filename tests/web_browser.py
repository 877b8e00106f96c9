"""The web form in a real browser: Playwright for Python driving Debian's Chromium (no browser download, which
can't work here), and axe-core (tests/render/package.json, pinned) checking pages against WCAG 2.2 AA. Used by
tests/stories/web. `make test` installs Chromium and the npm packages first (Makefile `render-tools`)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from tests.render.renderer import HERE as RENDER_DIR
from tests.render.renderer import chromium

AXE = RENDER_DIR / "node_modules" / "axe-core" / "axe.min.js"
# The rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA: what UK public sector websites must meet.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# As the machine's probe starts Chromium: without the background-networking flags it tries hosts it can't reach.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE, LAPTOP = {"width": 320, "height": 640}, {"width": 1280, "height": 900}

# An answer for each question of the form that is typed, by question id (a choice takes its first option).
TYPED = {
    "places": "8",
    "start": "1 September 2027",
    "priority_need_other": "Families in Tendring travel over an hour for specialist places for autistic children.",
    "accommodation_details": "Two classrooms beside the hall, with a quiet room and a fenced garden.",
    "works_estimate": "A new accessible toilet and a partition wall: about six weeks in the summer holiday.",
    "works_cost": "£45,000",
    "school_contribution_amount": "£5,000",
    "accessible_site_details": "Step-free throughout.",
    "staff_expertise": "Our SENCo holds the NPQ and two teaching assistants are trained in Attention Autism and PECS.",
    "staffing_model": "A teacher in charge and one teaching assistant for every three pupils.",
    "outreach_details": "Visits to nearby primaries.",
    "ehcp_count": "12",
    "sen_support_count": "40",
    "inclusion_vision": (
        "Every child belongs here: the provision would let autistic pupils learn beside their friends, with a calm "
        "base to return to, and our staff would share what they learn with the whole school."
    ),
    "governance_date": "14 October 2026",
    "trust_signoff_by": "Sam Patel, CEO",
    "trust_signoff_date": "20 October 2026",
    "contact_name": "Pat Head",
    "contact_role": "Headteacher",
    "contact_email": "pat.head@school.example",
    "contact_phone": "01245 123456",
}


def missing() -> str | None:
    """Why the browser tests can't run here, or None."""
    if chromium() is None:
        return "Chromium is not installed (`make test` installs it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    if not AXE.exists():
        return "axe-core is not installed (`make test` runs npm ci in tests/render)"
    return None


@contextlib.asynccontextmanager
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium(), args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


async def answer_question(page: Any) -> str:
    """Answers the question the page asks as a headteacher would (TYPED, else the first option), then presses
    Continue; returns the question's id, or "" when the page asks none."""
    form = page.locator("form[data-question]")
    if not await form.count():
        return ""
    question = await form.get_attribute("data-question") or ""
    kind = await form.get_attribute("data-type") or ""
    if kind == "files":
        await page.get_by_role("button", name=re.compile("No files to attach|Done")).click(timeout=5000)
    elif await page.locator("input[type=radio]").count():
        await page.locator("input[type=radio]").first.check()
        await page.get_by_role("button", name="Continue").click()
    elif await page.locator("input[type=checkbox]").count():
        await page.locator("input[type=checkbox]").first.check()
        await page.get_by_role("button", name="Continue").click()
    else:
        await page.fill("#answer", TYPED[question])
        await page.get_by_role("button", name="Continue").click()
    return question


async def axe(page: Any) -> list[str]:
    """Every WCAG 2.2 AA violation axe-core finds on the page, one line each (rule, impact, where)."""
    await page.add_script_tag(path=str(AXE))  # the context bypasses the page's CSP for this one script
    result = await page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in result["violations"]
    ]


async def scrolls_sideways(page: Any) -> bool:
    return bool(await page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"))


async def unreachable_by_keyboard(page: Any) -> list[str]:
    """Controls that Tab never reaches: every button, link and field must take focus in turn."""
    # A radio group is one stop for Tab (arrow keys move within it): its first radio stands for it. What a closed
    # <details> holds is reached once its summary (reached itself) is opened.
    controls = await page.evaluate(
        """() => {
            const all = document.querySelectorAll(
                'a[href], button, input:not([type=hidden]), textarea, select, summary');
            const folded = e => e.tagName !== 'SUMMARY' && e.closest('details') && !e.closest('details').open;
            const shown = Array.from(all).filter(e => e.offsetParent !== null && !folded(e));
            const first = e => document.querySelector('input[name="' + e.name + '"]') === e;
            const stops = shown.filter(e => e.type !== 'radio' || first(e));
            return stops.map((e, i) => { e.dataset.control = String(i); return i; });
        }"""
    )
    reached: set[str] = set()
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(len(controls) + 5):
        await page.keyboard.press("Tab")
        at = await page.evaluate("document.activeElement && document.activeElement.dataset.control")
        if at is not None:
            reached.add(str(at))
    names = await page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-control]'))"
        ".map(e => [e.dataset.control, e.outerHTML.slice(0, 80)])"
    )
    return [html for control, html in names if control not in reached]
