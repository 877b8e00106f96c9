"""Text is cleaned once, where it comes in: whatever a platform sends (a NUL byte pasted from a document, a
500-character Teams display name, invisible characters) gets an ordinary answer on SQLite and PostgreSQL
alike; invisible characters don't make a short answer long enough; and when a turn does fail in the
database, the log says where, but never a person's email, an answer, or the SQL parameters."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot import cli
from bot.service import Service
from dialogs.turns import Speaker, Turn
from storage.clock import Clock
from storage.models import EOI, Person
from tests import chat
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import OFFICER_ID, SCHOOL_CHANNEL, Workspace, slack_workspace, text_of
from tests.stories.teams.test_teams_e2e import HEAD_EMAIL, Teams, teams_with

LONG_NAME = "Dr " + "Alexandra-" * 49 + "Head"  # 500 characters, as a Teams display name can be
TEAMS_HEAD_ID = "29:1longname"
INVISIBLE = "\u200b" * 60 + "\u200c\u200d\u2060\ufeff" * 10 + "\u202a\u202b\u202c\u202d\u202e" * 4  # 120


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


@pytest.fixture
async def teams(test_db: _TestDatabase, clock: Clock, teams_sdk: str) -> AsyncIterator[Teams]:
    async with teams_with(test_db, clock, (TEAMS_HEAD_ID, HEAD_EMAIL, LONG_NAME), teams_sdk=teams_sdk) as harness:
        yield harness


async def test_an_officers_feedback_pasted_with_a_nul_byte_reaches_the_school(slack: Workspace) -> None:
    head = await chat.headteacher(slack.service, "114000")
    ref = (await chat.complete_eoi(head)).split("Your reference is ")[1].split(".")[0]
    officer = slack.person(OFFICER_ID)
    await officer.types(f"not-shortlisted {ref} The need in\x00 your area is met this year.")
    assert "marked not shortlisted" in officer.text, officer.text
    await slack.deliver_notices()
    told = text_of(slack.posted_to(SCHOOL_CHANNEL)[-1])
    assert "Feedback from ECC: The need in your area is met this year." in told
    async with slack.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.ref == ref))
        assert eoi.status == "not shortlisted"


async def test_a_teams_user_with_a_500_character_name_can_start_an_eoi(teams: Teams) -> None:
    head = teams.user(TEAMS_HEAD_ID, LONG_NAME)
    said = await head.say("start")
    assert "Question 1 of" in said and "something went wrong" not in said
    async with teams.service.db.session() as session:
        person = await session.scalar(select(Person).where(Person.user_id == TEAMS_HEAD_ID))
    assert person.school_urn == "114000"
    assert person.display_name == LONG_NAME[:200]


async def test_invisible_characters_do_not_make_a_vision_long_enough(service: Service) -> None:
    head = await chat.headteacher(service)
    await head.say("start")
    for answer in chat.RESOURCED_ANSWERS[: chat.RESOURCED_ANSWERS.index(chat.LONG_VISION)]:
        await head.say(answer)
    assert "vision for inclusion" in head.text
    said = await head.say(INVISIBLE + "Belonging!")
    assert "at least 100 characters (you wrote 10)" in said
    assert "vision for inclusion" in head.text  # still asked: nothing was recorded
    assert "Question 19 of" in await head.say(chat.LONG_VISION)  # the files, after the vision


async def test_invisible_and_direction_characters_are_stripped_from_names(service: Service) -> None:
    speaker = Speaker("console", "head-rtl", display_name="\u202eP\u200bat \u2066Head\u2069\ufeff\n")
    await service.conversations.handle(Turn(speaker, text="help"))
    async with service.db.session() as session:
        person = await session.scalar(select(Person).where(Person.user_id == "head-rtl"))
    assert person.display_name == "Pat Head"


def _refused_by_the_database(backend: str):  # type: ignore[no-untyped-def]
    """A turn the database refuses, with the person's email as a parameter. PostgreSQL even repeats the value
    in its own message ('invalid input syntax for type integer: "someone@…"')."""
    failing = {"postgres": "SELECT CAST(:email AS integer)", "sqlite": "SELECT :email FROM no_such_table"}[backend]

    async def route(session: Any, person: Person, turn: Any, now: Any) -> list[Any]:
        await session.execute(text(failing), {"email": person.email})
        return []

    return route


async def test_a_turn_the_database_refuses_logs_no_email_answer_or_parameters(
    slack: Workspace, backend: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(slack.service.conversations, "_route", _refused_by_the_database(backend))
    stranger = slack.person("U0STRANGER")
    with caplog.at_level(logging.INFO):  # what `eoi-bot serve` logs
        await stranger.types("My secret answer about pupil Jo Bloggs")
    assert "something went wrong" in stranger.text
    log = caplog.text
    assert "slack turn for U0STRANGER failed" in log  # logged once, by the turn runner
    assert "SELECT" in log  # where it failed is kept: the statement, with placeholders only
    for secret in ("someone@elsewhere.example", "Jo Bloggs", "[parameters"):
        assert secret not in log, secret


async def test_a_teams_turn_the_database_refuses_logs_no_email_or_parameters(
    teams: Teams, backend: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(teams.service.conversations, "_route", _refused_by_the_database(backend))
    head = teams.user(TEAMS_HEAD_ID, LONG_NAME)
    with caplog.at_level(logging.INFO):
        assert "something went wrong" in await head.say("Our vision: every pupil belongs")
    assert "msteams turn for" in caplog.text and "SELECT" in caplog.text
    for secret in (HEAD_EMAIL, "every pupil belongs", "[parameters"):
        assert secret not in caplog.text, secret


def test_a_console_user_name_too_long_to_store_still_works_as_an_officer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'eoi-bot.db'}")
    monkeypatch.setenv("EOI_NOW", "2026-11-30T10:00:00+00:00")
    assert cli.main(["seed", "--demo"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("list\n"))
    assert cli.main(["chat", "--as", "officer", "--user", "officer-" + "o" * 300]) == 0
    out = capsys.readouterr().out
    assert "EOIs" in out and "for ECC officers only" not in out, out
