"""A headteacher's and an officer's day in Teams, over HTTP into /api/messages with the fake Bot Connector
recording every card: the school hears the announcement, answers every question (buttons, drop-downs, tick
boxes, a form for the vision), changes an answer on the review and submits; the officer lists, shows,
shortlists, books a discussion and decides, and the school hears each step. The render test checks every
card it produced; `make screenshots` shows the key ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from dialogs import schedule
from storage.models import Window
from storage.windows import window_code
from tests import chat
from tests.fakes import teams_activities as ta
from tests.stories.teams.test_teams_e2e import HEAD_ID, OFFICER_ID, Teams, User, card_of

JsonDict = dict[str, Any]

# The vision in paragraphs, as a headteacher writes it in the larger box: near the question's 3,000 limit.
VISION = "\n\n".join(
    paragraph.strip()
    for paragraph in (
        "Every child belongs here. " * 47,
        "The provision would sit at the heart of the school, with shared lunch, assemblies and mainstream "
        "lessons whenever pupils are ready. " * 8,
        "Success means confident, happy learners who move on to secondary school with friends. " * 8,
    )
)


@dataclass
class Journey:
    teams: Teams
    # name -> the card shown at that moment (the screenshots' subjects)
    moments: dict[str, JsonDict] = field(default_factory=dict)

    def keep(self, name: str, user: User) -> None:
        cards = [card for _, card in user.cards]
        assert cards, f"{name}: no card in {user.text}"
        self.moments[name] = cards[-1]

    async def deliver(self) -> None:
        """What the scheduler and dispatcher send unprompted (announcements, news for the school)."""
        async with self.teams.service.db.session() as session:
            await schedule.plan_due(session, self.teams.service.clock.now())
            await session.commit()
        await self.teams.service.dispatcher.plan_notices()
        await self.teams.service.dispatcher.run_due()

    def cards(self) -> list[JsonDict]:
        """Every Adaptive Card the bot sent, each inline form (Action.ShowCard) also as a card of its own,
        as it shows when opened."""
        found: list[JsonDict] = []
        for activity in self.teams.connector.activities:
            card = card_of(activity)
            if card is None:
                continue
            found.append(card)
            found.extend(_show_cards(card))
        return found


def _show_cards(node: Any) -> list[JsonDict]:
    found: list[JsonDict] = []
    if isinstance(node, dict):
        if node.get("type") == "Action.ShowCard":
            found.append(node["card"])
        for value in node.values():
            found.extend(_show_cards(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_show_cards(item))
    return found


def _last_card_with(user: User, text: str) -> JsonDict:
    for activity in reversed(user.seen):
        if text in str(activity["body"]) and (card := card_of(activity)):
            return card
    raise AssertionError(f"no card with {text!r} in {user.text}")


async def give(head: User, answer: str) -> None:
    """Answer as a Teams user would: tick the boxes, press the button or option, or type it."""
    if head.multi_card() and "," in answer:
        await head.tick(*[a.strip() for a in answer.split(",")])
    elif head.find_button(answer) or head.find_option(answer):
        await head.press(answer)
    else:
        await head.say(answer)
    assert "something went wrong" not in head.text, head.text


async def headteacher_and_officer(teams: Teams) -> Journey:
    journey = Journey(teams)
    connector = teams.connector
    # The headteacher installs the app: matched to the school by email, and reachable from then on.
    await teams.post(ta.conversation_update_personal_installed(HEAD_ID, connector.service_url))
    head = teams.user(HEAD_ID, "Pat Head")
    before = len(connector.activities)
    await journey.deliver()
    head.seen = connector.activities[before:]
    journey.keep("announcement", head)

    await head.say("start")
    journey.keep("question", head)
    await head.press("Resourced Provision")
    # The rest of the EOI as a Teams user answers it; the vision written in paragraphs in the larger box.
    vision = chat.RESOURCED_ANSWERS.index(chat.LONG_VISION)
    for answer in chat.RESOURCED_ANSWERS[1:vision]:
        if "priority_need" in str(head.seen):
            journey.keep("long choices", head)  # the school's priority needs: long labels
        await give(head, answer)
    journey.keep("long answer", head)
    await head.fill("Write it in a larger box", answer=VISION)
    for answer in chat.RESOURCED_ANSWERS[vision + 1 :]:
        await give(head, answer)
    assert "Here is everything you've told us" in head.text, head.text
    journey.keep("review", head)
    await head.press("Change Places")
    journey.keep("change", head)
    await head.say("10")
    await head.press("Submit")
    await head.press("I confirm")
    journey.keep("submitted", head)
    await head.say("status")

    officer = teams.user(OFFICER_ID, "Olu Officer")
    await officer.say("help")
    await officer.say("list submitted")
    journey.keep("officer list", officer)
    await officer.press("Show")
    journey.keep("officer show", officer)
    ref = _last_card_with(officer, "EOI-")["body"][0]["text"].strip("*")
    await officer.press("Shortlist")
    await officer.say(f"show {ref}")
    await officer.fill("Schedule discussion", when="Tuesday at 2pm", place="County Hall, Chelmsford")
    await officer.say(f"show {ref}")
    journey.keep("officer scheduled", officer)
    await officer.fill("Decide", outcome="approve", note="Opening September 2027.")
    code = await _window_code(teams)
    await officer.say(f"window preview {code}")
    journey.keep("window preview", officer)
    before = len(connector.activities)
    await journey.deliver()  # the school hears it was shortlisted, invited and approved
    head.seen = connector.activities[before:]
    # The approval as the school reads it: with its implementation plan, and the buttons for the school's part.
    told = _last_card_with(head, "approved")
    assert "Implementation plan" in str(told) and "First pupils" in str(told), told
    journey.moments["school told"] = told
    return journey


async def _window_code(teams: Teams) -> str:
    async with teams.service.db.session() as session:
        window = await session.scalar(select(Window).order_by(Window.opens_at))
        assert window is not None
        return window_code(window)
