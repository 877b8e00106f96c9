"""What people read and press is the same on every channel: a button's value that isn't one we made is refused in
words, what someone typed is shown exactly as typed, and the dialogs' emphasis (bold, lists) shows as each
platform shows it. Driven through the public surfaces: signed Slack requests, Teams activities, the console."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.service import Service
from storage.clock import Clock
from storage.models import AuditEntry
from tests import conftest
from tests.chat import headteacher
from tests.fakes import slack_requests as sr
from tests.slack_fixtures import HEAD_ID as SLACK_HEAD
from tests.slack_fixtures import Workspace, slack_workspace, text_of
from tests.stories.teams.test_teams_e2e import HEAD_EMAIL as TEAMS_HEAD_EMAIL
from tests.stories.teams.test_teams_e2e import HEAD_ID as TEAMS_HEAD
from tests.stories.teams.test_teams_e2e import Teams, card_of, teams_with

UNREADABLE = "I can't read that button, so I've done nothing."
# Button values nobody should be able to send, and some a program might: cut short, not JSON, no such kind, the
# wrong number of parts, a step that doesn't exist, too long for any button.
FORGED = [
    '["cmd"',
    "{}",
    '["launch","missiles"]',
    '["answer"]',
    '["step","delete everything"]',
    '["cmd",["start"]]',
    '["cmd","' + "x" * 2100 + '"]',
]
# One word typed by a headteacher, echoed back in the refusal of an unknown command: markup in every platform's
# syntax, an HTML tag, a Slack mention, an entity.
TYPED = "*urgent*_now_<b>&amp;<!channel>`x`"


@pytest.fixture
async def slack(test_db: conftest.TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


@pytest.fixture
async def teams(test_db: conftest.TestDatabase, clock: Clock, teams_sdk: str) -> AsyncIterator[Teams]:
    async with teams_with(test_db, clock, (TEAMS_HEAD, TEAMS_HEAD_EMAIL, "Pat Head"), teams_sdk=teams_sdk) as harness:
        yield harness


async def _refused(service: Service, actor: str) -> int:
    async with service.db.session() as session:
        query = select(func.count()).select_from(AuditEntry)
        return await session.scalar(query.where(AuditEntry.actor == actor, AuditEntry.action == "refused")) or 0


# ------------------------------------------------------------------------------ how each platform reads its text
ZWSP = "\u200b"
_SLACK_BOLD = re.compile(r"(?<![\w*\u200b])\*([^*\s\u200b](?:[^*\n]*?[^*\s\u200b])?)\*(?![\w*\u200b])")


def slack_reads(mrkdwn: str) -> tuple[str, list[str]]:
    """(what Slack shows, the words it shows bold): stars pair up only at word boundaries; &amp; &lt; &gt; are
    the characters; a zero-width space is invisible."""
    assert "<" not in mrkdwn and ">" not in mrkdwn, mrkdwn  # no link, mention or tag that we didn't make
    bold = [m.group(1).replace(ZWSP, "") for m in _SLACK_BOLD.finditer(mrkdwn)]
    shown = _SLACK_BOLD.sub(r"\1", mrkdwn).replace(ZWSP, "")
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"), bold


_TEAMS_BOLD = re.compile(r"(?<!\\)\*\*(.+?)(?<!\\)\*\*")


def teams_reads(markdown: str) -> tuple[str, list[str]]:
    """(what Teams shows, the words it shows bold) from its markdown: a backslash makes the next character
    literal; an unescaped markup character left over would be read as markup, so there must be none."""
    bold = [re.sub(r"\\(.)", r"\1", m.group(1)) for m in _TEAMS_BOLD.finditer(markdown)]
    rest = _TEAMS_BOLD.sub("", markdown)
    assert not re.search(r"(?<!\\)[*_`<>&\[\]]", re.sub(r"\\\\", "", rest)), markdown
    shown = re.sub(r"\\(.)", r"\1", _TEAMS_BOLD.sub(r"\1", markdown))
    return shown, bold


# ------------------------------------------------------------------------------ forged and malformed buttons
async def test_a_forged_or_malformed_slack_button_is_refused_in_words_and_changes_nothing(slack: Workspace) -> None:
    head = slack.person(SLACK_HEAD)
    for value in FORGED:
        await slack.turn(sr.block_actions_body(SLACK_HEAD, "eoi_btn_0", value), head)
        assert UNREADABLE in head.text, value
    await slack.turn(sr.block_actions_body(SLACK_HEAD, "eoi_done", '["step","submit"'), head)  # a garbled Done
    assert UNREADABLE in head.text
    assert await _refused(slack.service, f"slack:{SLACK_HEAD}") == len(FORGED) + 1
    # A button from before actions were typed ("kind|part") still works.
    await slack.turn(sr.block_actions_body(SLACK_HEAD, "eoi_btn_0", "cmd|status"), head)
    assert "has no EOI yet" in head.text


async def test_a_forged_or_malformed_teams_card_submit_is_refused_in_words_and_changes_nothing(teams: Teams) -> None:
    head = teams.user(TEAMS_HEAD, "Pat Head")
    values = [
        *({"eoi_action": value} for value in FORGED),
        {"eoi_action": 42},
        {"eoi_pick": 1, "eoi_choice": '["step","launch"]'},
        {"eoi_done": "not json", "eoi_values": "KS1"},
    ]
    for value in values:
        assert UNREADABLE in await head.submit(value), value
    assert await _refused(teams.service, f"msteams:{TEAMS_HEAD}") == len(values)
    assert "has no EOI yet" in await head.submit({"eoi_action": "cmd|status"})  # an old card's button


# ------------------------------------------------------------------------------ typed words literally; emphasis
# The refusal of an unknown word echoes it, and has its own emphasis: "Type *start* to begin ..., *status* ...".
REFUSAL_BOLD = ["start", "status", "help"]
HELP_BOLD = ["Expression of Interest", "start", "start PP"]  # the first of help's bold words


async def test_slack_shows_what_was_typed_exactly_and_the_dialogs_emphasis_as_mrkdwn(slack: Workspace) -> None:
    head = slack.person(SLACK_HEAD)
    # Slack sends a typed &, < and > as &amp;, &lt; and &gt; (its own escaping, undone by the channel).
    [message] = await head.types(TYPED.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    shown, bold = slack_reads(text_of(message))
    assert f"I don't know “{TYPED}”" in shown and bold == REFUSAL_BOLD

    [message] = await head.types("help")
    mrkdwn = text_of(message)
    assert "\n• *start*: begin or carry on" in mrkdwn  # a list item, its command bold
    assert slack_reads(mrkdwn)[1][:3] == HELP_BOLD


async def test_teams_shows_what_was_typed_exactly_and_the_dialogs_emphasis_as_markdown(teams: Teams) -> None:
    head = teams.user(TEAMS_HEAD, "Pat Head")
    await head.say(TYPED)
    [activity] = head.seen
    shown, bold = teams_reads(activity["body"]["text"])
    assert f"I don't know “{TYPED}”" in shown and bold == REFUSAL_BOLD

    await head.say("help")
    card = card_of(head.seen[0])
    [text] = [b["text"] for b in card["body"] if b.get("type") == "TextBlock" and "begin or carry on" in b["text"]]
    assert "\n\n- **start**: begin or carry on" in text  # a markdown list item, its command bold
    assert teams_reads(text)[1][:3] == HELP_BOLD


async def test_the_console_shows_what_was_typed_exactly_and_lists_without_markup(service: Service) -> None:
    head = await headteacher(service)
    shown = await head.say(TYPED)
    assert f"I don't know “{TYPED}”. Type start to begin" in shown
    assert "\n• start: begin or carry on" in await head.say("help")  # a terminal: bullets, no stars
