"""Every Slack message and view of a headteacher's and an officer's day keeps within Block Kit's limits, checked
with slack_sdk's own validators and the documented limits it doesn't check (tests/block_kit_limits.py). The
same check runs after every Slack story (tests/slack_fixtures.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import slack_blocks as kit
from dialogs.actions import Command
from dialogs.officer_commands import schedule_form
from dialogs.replies import Choice, Reply
from storage.clock import Clock
from tests import block_kit_limits, chat
from tests.conftest import TestDatabase as _TestDatabase
from tests.render.journey import VISION
from tests.slack_fixtures import HEAD_ID, OFFICER_ID, Workspace, slack_workspace, text_of
from tests.stories.slack.test_slack_stories import answer


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


def test_the_check_finds_each_broken_limit() -> None:
    too_many = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51
    assert "51 blocks" in " ".join(block_kit_limits.problems("message", {"text": "t", "blocks": too_many}))
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    assert block_kit_limits.problems("message", {"text": "t", "blocks": long_section})
    label = "A label of more than thirty letters"
    button = {"type": "button", "action_id": "b", "text": {"type": "plain_text", "text": label}}
    twice = [{"type": "actions", "block_id": "x", "elements": [button, button]}] * 2
    found = " ".join(block_kit_limits.problems("message", {"text": "t", "blocks": twice}))
    assert "block_id 'x' used twice" in found and "action_id 'b' used twice" in found and "cut on a phone" in found
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": too_many[:1]}
    assert "title" in " ".join(block_kit_limits.problems("views.open", modal))
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": too_many * 2}
    assert "100 blocks" in " ".join(block_kit_limits.problems("views.open", modal))


def test_a_discussion_modal_has_a_whole_title() -> None:
    """Seen: "Discussion: EOI-2627A-0…", 25 characters cut to Slack's 24."""
    view = kit.form_view(schedule_form("EOI-2627A-001"), {})
    assert view["title"]["text"] == "Discussion"
    assert "Discussion: EOI-2627A-001" in view["blocks"][0]["text"]["text"]


def test_the_home_tab_of_several_replies_has_unique_block_ids() -> None:
    replies = [Reply(text=f"Reply {n}", choices=[Choice("Go", Command(f"show EOI-2627A-00{n}"))]) for n in range(3)]
    assert block_kit_limits.problems("views.publish", kit.home_view(replies)) == []


async def test_a_headteacher_and_officer_day_in_slack_keeps_within_block_kit_limits(slack: Workspace) -> None:
    head, officer = slack.person(HEAD_ID), slack.person(OFFICER_ID)
    await head.slash("start")
    vision = chat.RESOURCED_ANSWERS.index(chat.LONG_VISION)
    for value in chat.RESOURCED_ANSWERS[:vision]:
        await answer(head, value)
    await head.press("Write it in a larger box")
    await head.submit_modal({"answer": {"value": VISION}})
    for value in chat.RESOURCED_ANSWERS[vision + 1 :]:
        await answer(head, value)
    assert "Here is everything" in head.text
    await head.press("Submit")
    await head.press("I confirm")
    ref = next(word for word in text_of(head.last).split() if word.startswith("EOI-")).strip(".,:*")

    await officer.slash("list submitted")
    await officer.slash(f"show {ref}")
    await officer.press("Shortlist")
    await officer.slash(f"show {ref}")
    await officer.press("Schedule discussion")
    await officer.submit_modal({"when": {"value": "Tuesday at 2pm"}, "place": {"value": "County Hall"}})
    await officer.slash(f"show {ref}")
    await officer.press("Decide")
    await slack.deliver_notices()
    await officer.slash("window preview")

    sent = block_kit_limits.payloads(slack.fake)
    assert len(sent) > 40
    assert block_kit_limits.all_problems(slack.fake) == []
