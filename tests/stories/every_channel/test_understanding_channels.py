"""The same words and buttons reach the same result in Slack and Teams as in the console: a headteacher's slip
("resorced") is asked back and stored only on Yes; an officer's "next Tuesday at 2" on a Monday is asked back
and the button books the Tuesday meant; "change the date the governors discussed it" opens that question; an
EOI is named by URN or a loose reference in any command.

The clock is Monday 30 November 2026, 10:00 (tests/conftest.py NOW)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.clock import Clock
from storage.models import EOI, Discussion
from tests import chat
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import HEAD_ID, OFFICER_ID, SCHOOL_URN, Workspace, slack_workspace
from tests.stories.teams.test_teams_e2e import HEAD_ID as TEAMS_HEAD
from tests.stories.teams.test_teams_e2e import OFFICER_ID as TEAMS_OFFICER
from tests.stories.teams.test_teams_e2e import Teams, connector, svc, teams  # noqa: F401

# connector, svc and teams are the Teams harness's fixtures: pytest finds them here by those names.


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


async def _answers(service) -> dict:
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == SCHOOL_URN).order_by(EOI.id.desc()))
        return dict(eoi.answers)


async def _booked(service, ref: str) -> list[str]:
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.ref == ref))
        found = await session.scalars(select(Discussion).where(Discussion.eoi_id == eoi.id))
        return [f"{d.starts_at:%Y-%m-%d %H:%M}" for d in found]


async def _submitted(service) -> str:
    said = await chat.complete_eoi(await chat.headteacher(service, urn=SCHOOL_URN, user="typist"))
    return re.search(r"EOI-2627A-\d{3}", said).group(0)


# ------------------------------------------------------------------------------ Slack


async def test_in_slack_resorced_is_asked_back_and_yes_pressed_stores_resourced_provision(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    await head.slash("start")
    await head.types("resorced")
    assert "Do you mean Resourced Provision?" in head.text
    assert "provision_type" not in await _answers(slack.service)
    await head.press("Yes")
    assert (await _answers(slack.service))["provision_type"] == "resourced"
    await head.types("autsm")
    assert "Do you mean ASD: Autistic Spectrum Disorder?" in head.text
    await head.types("yes")  # typed or pressed, the same
    assert (await _answers(slack.service))["primary_need"] == "ASD"


async def test_in_slack_next_tuesday_at_2_is_asked_back_and_the_button_books_8_december(slack: Workspace) -> None:
    ref = await _submitted(slack.service)
    desk = slack.person(OFFICER_ID)
    await desk.slash("shortlist 114000")  # by URN, as `show` takes it
    assert f"{ref} is shortlisted" in desk.text
    await desk.slash(f"schedule {ref.lower()} next Tuesday at 2")
    assert "Do you mean Tuesday 1 December at 2:00pm or Tuesday 8 December at 2:00pm?" in desk.text
    assert await _booked(slack.service, ref) == []
    await desk.press("Tuesday 8 December")
    assert "Scheduled" in desk.heard
    assert await _booked(slack.service, ref) == ["2026-12-08 14:00"]


async def test_in_slack_a_headteacher_changes_an_answer_at_the_review_by_its_words(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    await head.slash("start")
    for answer in chat.RESOURCED_ANSWERS:
        await head.types(answer)
    await head.types("change the date the governors discussed it")
    assert "When did the governing body (or trust) approve it?" in head.text
    await head.types("October")
    assert "Discussed on*: October 2026" in head.heard or "Discussed on: October 2026" in head.heard


# ------------------------------------------------------------------------------ Teams


async def test_in_teams_resorced_is_asked_back_and_yes_pressed_stores_resourced_provision(
    teams: Teams,  # noqa: F811
) -> None:
    head = teams.user(TEAMS_HEAD, "Pat Head")
    await head.say("start")
    assert "Do you mean Resourced Provision?" in await head.say("resorced")
    assert "provision_type" not in await _answers(teams.service)
    await head.press("Yes")
    assert (await _answers(teams.service))["provision_type"] == "resourced"


async def test_in_teams_next_tuesday_at_2_is_asked_back_and_the_button_books_8_december(
    teams: Teams,  # noqa: F811
) -> None:
    ref = await _submitted(teams.service)
    desk = teams.user(TEAMS_OFFICER, "Olu Officer")
    number = int(ref.rsplit("-", 1)[1])
    assert f"{ref} is shortlisted" in await desk.say(f"shortlist eoi-2627a-{number}")
    asked = await desk.say(f"schedule {ref} next Tuesday at 2 at County Hall")
    assert "Do you mean Tuesday 1 December at 2:00pm or Tuesday 8 December at 2:00pm?" in asked
    said = await desk.press("Tuesday 8 December")
    assert "Scheduled" in said and "County Hall" in said
    assert await _booked(teams.service, ref) == ["2026-12-08 14:00"]


async def test_in_teams_start_pp_typed_mid_question_starts_the_partnership_provision(
    teams: Teams,  # noqa: F811
) -> None:
    head = teams.user(TEAMS_HEAD, "Pat Head")
    await head.say("start")
    await head.say("Resourced Provision")
    said = await head.say("start PP")
    assert "didn't recognise" not in said and "Partnership Provision" in said


async def test_in_slack_the_schedule_form_asks_back_thursday_afternoon_with_a_button_per_hour(
    slack: Workspace,
) -> None:
    ref = await _submitted(slack.service)
    desk = slack.person(OFFICER_ID)
    await desk.slash(f"shortlist {ref}")
    await desk.slash(f"show {ref}")
    await desk.press("Schedule discussion")
    await slack.fake.wait_for("views.open")
    asked = await desk.submit_modal({"when": {"value": "thursday afternoon"}, "place": {"value": "County Hall"}})
    assert asked.status == 200 and not await asked.text()  # the form closes; the question comes in the chat
    assert "Thursday afternoon is a range (1:00pm–5:00pm)" in desk.text
    await desk.press("Thursday 3 December at 2:00pm")
    assert "Scheduled" in desk.heard and "County Hall" in desk.heard
    assert await _booked(slack.service, ref) == ["2026-12-03 14:00"]
