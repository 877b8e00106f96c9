"""`make screenshots`: the Teams cards of a headteacher's and an officer's day (tests/render/journey.py), drawn
by Microsoft's Adaptive Cards renderer in headless Chromium, and the web form's pages at a laptop's and a phone's
width (tests/render/web_screenshots.py), as PNGs in docs/screenshots/ for the README.

    python -m tests.render.screenshots [FOLDER]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from storage.clock import Clock
from tests.conftest import NOW, TestDatabase
from tests.fakes.bot_connector import FakeBotConnector
from tests.render import renderer
from tests.render.journey import Journey, headteacher_and_officer
from tests.stories.teams.test_teams_e2e import HEAD_EMAIL, HEAD_ID, OFFICER_ID, _start, open_teams_service

# The README's pictures: file name -> the journey's moment.
SHOTS = {
    "1-announcement.png": "announcement",
    "2-question.png": "question",
    "3-long-choices.png": "long choices",
    "4-review.png": "review",
    "5-officer-list.png": "officer list",
    "6-officer-show.png": "officer scheduled",
    "7-window-preview.png": "window preview",
    "8-school-told.png": "school told",
}
WIDTH = 450


async def _journey(folder: Path) -> Journey:
    clock = Clock(NOW)
    service = await open_teams_service(TestDatabase("sqlite", folder), clock, seed=True)
    try:
        async with FakeBotConnector() as connector:
            connector.add_member("*", HEAD_ID, HEAD_EMAIL, name="Pat Head")
            connector.add_member("*", OFFICER_ID, "officer@essex.example", name="Olu Officer")
            async for teams in _start(service, connector):
                return await headteacher_and_officer(teams)
    finally:
        await service.close()
    raise AssertionError("the Teams app did not start")


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/screenshots")
    missing = renderer.missing()
    if missing:
        print(f"can't render Teams cards: {missing}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="eoi-screenshots-") as tmp:
        journey = asyncio.run(_journey(Path(tmp)))
    for name, moment in SHOTS.items():
        path = renderer.screenshot(journey.moments[moment], WIDTH, out / name)
        print(path)
    from tests import web_browser
    from tests.render.web_screenshots import web_pages

    if web_browser.missing():
        print(f"can't draw the web form: {web_browser.missing()}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="eoi-web-screenshots-") as tmp:
        for path in asyncio.run(web_pages(Path(tmp), out)):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
