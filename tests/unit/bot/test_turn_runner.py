"""One turn runner for every channel (bot/turn_runner.py): the same guarantees on Slack, Teams and the
console. One person's turns keep their order; a failure inside a dialog gives the same apology everywhere and
is logged once."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.console import Console
from bot.turn_runner import APOLOGY
from dialogs.turns import Speaker
from storage import conversation_refs
from storage.clock import Clock
from storage.models import EOI
from tests import conftest
from tests.fakes import teams_activities as ta
from tests.fakes.bot_connector import FakeBotConnector
from tests.slack_fixtures import Workspace, slack_workspace
from tests.stories.teams.test_teams_e2e import HEAD_EMAIL, HEAD_ID, Teams, _start, open_teams_service, shown_text


@pytest.fixture
async def teams(test_db: conftest.TestDatabase, clock: Clock, teams_sdk: str) -> AsyncIterator[Teams]:
    service = await open_teams_service(test_db, clock, seed=True, teams_sdk=teams_sdk)
    async with FakeBotConnector() as connector:
        connector.add_member("*", HEAD_ID, HEAD_EMAIL, name="Pat Head")
        async for harness in _start(service, connector):
            yield harness
    await service.close()


async def test_two_quick_teams_messages_from_one_person_are_answered_in_order(
    teams: Teams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head types "start" and, before its answer comes, "Resourced Provision". The first turn is slow (a
    busy database): the second waits for it, so it is read as the answer to question 1."""
    real = teams.service.conversations.handle_once
    first = True

    async def slow_first(turn: Any, key: str, **keep: Any) -> Any:
        nonlocal first
        if first:
            first = False
            await asyncio.sleep(0.3)
        return await real(turn, key, **keep)

    monkeypatch.setattr(teams.service.conversations, "handle_once", slow_first)
    url = teams.connector.service_url
    start = teams.post(ta.message_activity("start", HEAD_ID, "Pat Head", service_url=url))
    answer = teams.post(ta.message_activity("Resourced Provision", HEAD_ID, "Pat Head", service_url=url))
    await asyncio.gather(start, asyncio.create_task(_after(0.05, answer)))
    said = [shown_text(a) for a in teams.connector.activities_in(ta.personal_conversation_id(HEAD_ID))]
    assert "Question 1 of" in said[0] and "Which kind of provision" in said[0]
    assert "Question 2 of" in said[-1]
    async with teams.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == "114000"))
    assert eoi is not None and eoi.answers == {"provision_type": "resourced"}


async def _after(delay: float, work: Any) -> Any:
    await asyncio.sleep(delay)
    return await work


@pytest.fixture
async def slack(test_db: conftest.TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


async def test_a_failure_inside_a_dialog_gives_the_same_apology_on_every_channel_and_is_logged_once(
    slack: Workspace, test_db: conftest.TestDatabase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service = slack.service

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the dialog broke")

    monkeypatch.setattr(service.conversations, "_route", broken)
    heard: dict[str, str] = {}
    with caplog.at_level(logging.INFO):
        # Slack: a typed message in the DM, through the signed route.
        head = slack.person("U0HEAD")
        await head.types("start")
        heard["slack"] = head.heard
        # Teams: an activity into /api/messages of the same service.
        async with FakeBotConnector() as connector:
            connector.add_member("*", HEAD_ID, HEAD_EMAIL, name="Pat Head")
            activity = ta.message_activity("start", HEAD_ID, "Pat Head", service_url=connector.service_url)
            response = await slack.client.post("/api/messages", json=activity)
            assert response.status == 200
            heard["msteams"] = "\n".join(connector.texts())
        # The console.
        out = io.StringIO()
        await Console(service, Speaker("console", "head-1"), school=None, out=out).send("start")
        heard["console"] = out.getvalue()
    for channel, text in heard.items():
        assert APOLOGY in text, (channel, text)
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sorted(r.getMessage().split(" turn for ")[0] for r in failures) == ["console", "msteams", "slack"]


async def test_where_a_teams_speaker_is_reached_is_kept_with_their_turn_or_not_at_all(
    teams: Teams, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conversation reference a Teams turn brings is written in the turn's own transaction: a turn that
    fails keeps none (and isn't taken as kept), the next one that succeeds keeps it."""
    newcomer = "29:1newcomer"
    teams.connector.add_member("*", newcomer, "newcomer@example.org", name="Nia New")
    url = teams.connector.service_url

    async def kept() -> bool:
        async with teams.service.db.session() as session:
            return await conversation_refs.find(session, platform="msteams", key=newcomer) is not None

    real = teams.service.conversations._route

    async def failing(*args: Any) -> Any:
        raise RuntimeError("the dialog failed")

    monkeypatch.setattr(teams.service.conversations, "_route", failing)
    await teams.post(ta.message_activity("help", newcomer, "Nia New", service_url=url))
    said = [shown_text(a) for a in teams.connector.activities_in(ta.personal_conversation_id(newcomer))]
    assert said == [APOLOGY] and not await kept()
    monkeypatch.setattr(teams.service.conversations, "_route", real)
    await teams.post(ta.message_activity("help", newcomer, "Nia New", service_url=url))
    assert await kept()
