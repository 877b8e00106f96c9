"""Every Teams card of a headteacher's and an officer's day, drawn by Microsoft's Adaptive Cards renderer in
headless Chromium at Teams' widths (450 px, and 340 px for a phone): the renderer has nothing to warn about,
no button label is cut off, nothing is wider than the card, and every box takes as much as its question
allows."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from dialogs.questions import eoi_questions
from tests.render import renderer
from tests.render.journey import Journey, headteacher_and_officer
from tests.stories.teams.test_teams_e2e import Teams, _start, connector, svc  # noqa: F401  (fixtures)

MISSING = renderer.missing()
# People read names and London times: never a platform id (but in `link` and `officer add`, which take one) or
# an ISO time in UTC; a required field has one asterisk, not two; italics are italic, not _underscored_.
UNREADABLE = re.compile(
    r"(?<!link )(?<!add )(?:msteams|slack):\S+|\d{4}-\d\d-\d\dT\d\d:\d\d\S*|\* \*|(?<![\w_])_[^\s_][^_\n]*_(?![\w_])"
)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"can't render Teams cards: {MISSING}")


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param  # the cards are the same on PostgreSQL: one journey is enough


@pytest.fixture
async def journey(svc, connector) -> AsyncIterator[Journey]:  # noqa: F811
    async for teams in _start(svc, connector):
        yield await headteacher_and_officer(teams)


def _limits(card: dict) -> dict[str, int]:
    """input id -> the most its question allows, for a card that asks a question's answer in a form."""
    data = next((a["data"] for a in card.get("actions", []) if a.get("type") == "Action.Submit"), {})
    command = str((data.get("eoi_form_def") or {}).get("command", ""))
    if not command.startswith("answer "):
        return {}
    q = eoi_questions().get(command.split()[1])
    return {"f_answer": q.max} if q and q.max else {}


async def test_every_card_of_a_headteacher_and_officer_day_renders_whole_in_teams(journey: Journey) -> None:
    cards = journey.cards()
    assert len(cards) > 40, len(cards)
    rendered, problems = renderer.render(cards)
    assert problems == []
    seen = []
    for r in rendered:
        card = cards[r.index]
        where = f"card {r.index} at {r.width}px ({card['body'][0].get('text', '')[:60]!r})"
        seen += [f"{where}: {event}" for event in r.events]
        seen += [f"{where}: button cut off: {b.title!r}" for b in r.buttons if b.cut]
        if r.too_wide:
            seen.append(f"{where}: something is wider than the card")
        for unread in UNREADABLE.findall(r.text):
            seen.append(f"{where}: shows {unread!r}")
        for input_id, limit in _limits(card).items():
            drawn = r.inputs.get(input_id)
            if drawn is not None and drawn < limit:
                seen.append(f"{where}: {input_id} takes {drawn} characters, the question allows {limit}")
    assert seen == [], "\n".join(seen)


async def test_the_review_can_be_submitted_from_its_top_on_a_phone(journey: Journey) -> None:
    """Seen: a review 12,000 px tall on a phone, long answers in a narrow column, Submit only at the bottom."""
    [phone] = renderer.render([journey.moments["review"]], (340,))[0]
    first_submit = min(b.top for b in phone.buttons if b.title == "Submit")
    assert first_submit < 250, first_submit
    assert phone.height < 6000, phone.height


def test_a_screenshot_shows_the_card_at_its_size(tmp_path) -> None:
    """What `make screenshots` does for each card; a short card once came out blank."""
    from PIL import Image

    card = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "Question 1 of 20."}]}
    path = renderer.screenshot(card, 450, tmp_path / "card.png")
    with Image.open(path) as picture:
        assert picture.width == 450 + 2 * renderer.PAGE_MARGIN
        darkest, _ = picture.convert("L").getextrema()
    assert darkest < 100  # the words are there, not a blank page
