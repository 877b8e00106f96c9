"""What headteachers and officers see, as they'd describe it: the question count that stays put, the answer
already in the box when they change it, a whole long answer on the Slack review, a preview of who hears
that names people, and notifications that say a thing once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot import slack_blocks as kit
from bot.service import Service
from dialogs.actions import ChangeAnswer
from dialogs.replies import Choice, Fact, Reply
from storage.clock import Clock
from tests import chat
from tests.conftest import TestDatabase as _TestDatabase
from tests.render.journey import VISION, give
from tests.slack_fixtures import HEAD_ID, Workspace, slack_workspace
from tests.stories.slack.test_slack_stories import answer
from tests.stories.teams.test_teams_e2e import HEAD_ID as TEAMS_HEAD
from tests.stories.teams.test_teams_e2e import OFFICER_ID, Teams, _walk, connector, svc, teams  # noqa: F401  (fixtures)

VISION_AT = chat.RESOURCED_ANSWERS.index(chat.LONG_VISION)


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


async def test_the_question_count_stays_the_same_when_follow_up_questions_come_and_go(service: Service) -> None:
    """Seen: "Question 7 of 21", then "of 22", then "of 23" as answers brought follow-up questions."""
    head = await chat.headteacher(service)
    counts, numbers = set(), []
    answers = [*chat.RESOURCED_ANSWERS[:7], "Another need (explain)", chat.OTHER_NEED_EXPLAINED]
    answers += ["Dedicated space available now", "Two adjoining classrooms on the ground floor.", "Partly"]
    await head.say("start")
    for value in answers:
        said = await head.say(value)
        found = re.search(r"Question (\d+[a-z]?) of (\d+)", said)
        assert found, said
        numbers.append(found.group(1))
        counts.add(found.group(2))
    assert counts == {"24"}, counts
    assert numbers[7:] == ["8a", "9", "10", "11", "11a"]  # a follow-up is numbered with its question


async def test_changing_a_long_answer_in_teams_opens_the_box_with_the_answer_in_it(teams: Teams) -> None:  # noqa: F811
    """Seen: "Change" opened an empty box, so the vision had to be written again."""
    head = teams.user(TEAMS_HEAD, "Pat Head")
    await head.say("start")
    for value in [*chat.RESOURCED_ANSWERS[:VISION_AT]]:
        await give(head, value)
    await head.fill("Write it in a larger box", answer=VISION)
    for value in chat.RESOURCED_ANSWERS[VISION_AT + 1 :]:
        await give(head, value)
    await head.press("Change Inclusion vision")
    [box] = [n for _, card in head.cards for n in _walk(card) if n.get("id") == "f_answer"]
    assert box["value"] == VISION and box["maxLength"] == 3000
    # What the box held isn't sent back inside the card's data: the box itself sends what it holds.
    assert VISION not in str([n.get("data") for _, card in head.cards for n in _walk(card) if "data" in n])


async def test_slack_shows_a_long_answer_whole_and_changing_it_opens_the_modal_with_it(slack: Workspace) -> None:
    """Seen: the review cut a vision over about 2,880 characters with "…", and Change opened an empty modal."""
    head = slack.person(HEAD_ID)
    await head.slash("start")
    for value in chat.RESOURCED_ANSWERS[:VISION_AT]:
        await answer(head, value)
    await head.press("Write it in a larger box")
    await head.submit_modal({"answer": {"value": VISION}})
    for value in chat.RESOURCED_ANSWERS[VISION_AT + 1 :]:
        await answer(head, value)
    review = head.last
    shown = "".join(b["text"]["text"] for b in review["blocks"] if b["type"] == "section")
    assert VISION.replace("\n", "") in shown.replace("\n", "") and "…" not in shown
    assert len(VISION) > kit.MAX_SECTION - 100

    await head.press("Change Inclusion vision")
    await head.press("Write it in a larger box")
    view = (await slack.fake.wait_for("views.open", 2))[-1]["view"]
    [box] = [b["element"] for b in view["blocks"] if b["type"] == "input"]
    assert box["initial_value"] == VISION and box["max_length"] == 3000
    assert len(view["private_metadata"]) <= kit.MAX_METADATA


async def test_the_window_preview_names_who_hears_without_platform_ids(teams: Teams) -> None:  # noqa: F811
    """Seen: "msteams:29:1head114000" in a cramped preview with no line between schools."""
    head = teams.user(TEAMS_HEAD, "Pat Head")
    await head.say("help")  # the headteacher is known in Teams, so the school is reachable there
    officer = teams.user(OFFICER_ID, "Olu Officer")
    await officer.say("window list")
    code = re.search(r"\b\d{4}[A-Z]\b", officer.text)
    assert code, officer.text
    await officer.say(f"window preview {code.group(0)}")
    shown = officer.text
    assert "Pat Head (Teams)" in shown and "msteams:" not in shown and TEAMS_HEAD not in shown
    [(_, card)] = officer.cards
    assert not [n for n in _walk(card) if n.get("type") == "FactSet"]  # rows, each with a line above it
    assert sum(1 for n in _walk(card) if n.get("separator")) >= 2


def test_a_slack_notification_names_the_reference_once() -> None:
    """Seen: "EOI-2627A-001: approved ECC has approved … EOI-2627A-001 …" on the phone's lock screen."""
    reply = Reply(kind="notice", title="EOI-2627A-001: approved", text="ECC has *approved* EOI-2627A-001.")
    fallback, _ = kit.render(reply)
    assert fallback.count("EOI-2627A-001") == 1
    fallback, _ = kit.render(Reply(title="Preview: Autumn Term 1", text="32 schools are in scope."))
    assert fallback.startswith("Preview: Autumn Term 1")


def test_an_answer_with_ampersands_and_angle_brackets_reads_as_typed_on_the_slack_review() -> None:
    """Seen: answers not escaped for &, < and > (so "<!channel>" could ping a channel)."""
    change = Choice("Change Space", ChangeAnswer("accommodation_details"))
    _, blocks = kit.render(Reply(text="Review", facts=[Fact("Space", "Hall & <garden> <!channel>", change)]))
    [line] = [b["text"]["text"] for b in blocks if "accessory" in b]
    assert "Hall &amp; &lt;garden&gt; &lt;!channel&gt;" in line
