"""A button acts only on the EOI, and the state, it was shown for; `start` on a draft carries on.

Found by the simulation (issue 22, case 11): Slack redelivers late, people scroll up and press an old message's
button, and a head who types `start` (as "save" tells them to) must be asked their next question, not shown a
status line first. Told through the console and through Slack, with requests signed as Slack signs them."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from dialogs import actions
from dialogs.turns import Turn
from storage import eois
from storage.clock import Clock
from storage.models import EOI
from tests.chat import RESOURCED_ANSWERS, complete_eoi, headteacher
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import HEAD_ID, SCHOOL_URN, Workspace, slack_workspace, text_of


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


def _ref(text: str) -> str:
    found = re.search(r"EOI-\d{4}[A-Z]-\d{3}", text)
    assert found, text
    return found.group(0)


async def _eoi(service, ref: str) -> EOI:  # type: ignore[no-untyped-def]
    async with service.db.session() as session:
        found = await session.scalar(select(EOI).where(EOI.ref == ref))
        assert found is not None, ref
        return found


async def _school_eois(slack: Workspace) -> dict[str, EOI]:
    async with slack.service.db.session() as session:
        return {e.offer: e for e in await session.scalars(select(EOI).where(EOI.school_urn == SCHOOL_URN))}


# ------------------------------------------------------------------------------------ start carries on


async def test_a_head_who_types_start_in_the_middle_of_a_draft_is_asked_the_next_question(service):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS[:3]:
        await head.say(answer)
    assert "Question 4 of" in head.text

    await head.say("start")  # what "save" tells them to type to carry on where they left off

    assert len(head.replies) == 1, head.text  # one message: on Slack nothing comes between them and the question
    assert head.last.kind == "question" and "Question 4 of" in head.text
    assert "Carrying on" in head.text and "is *draft*" not in head.last.text.markup
    assert "Question 5 of" in await head.say(RESOURCED_ANSWERS[3])


async def test_on_slack_start_in_the_middle_of_a_draft_is_answered_with_the_next_question_alone(slack):
    head = slack.person(HEAD_ID)
    await head.slash("start")
    for answer in RESOURCED_ANSWERS[:3]:
        await head.types(answer)
    assert "Question 4 of" in head.text

    await head.types("start")

    assert len(head.latest) == 1, head.heard
    assert "Question 4 of" in head.heard and "Carrying on" in head.heard
    assert "is *draft*" not in head.heard


async def test_start_after_save_still_carries_on_where_the_head_left_off(service):
    head = await headteacher(service)
    await head.say("start")
    await head.say(RESOURCED_ANSWERS[0])
    assert "to carry on where you left off" in await head.say("save")
    await head.say("start")
    assert len(head.replies) == 1 and "Question 2 of" in head.text


# ------------------------------------------------------------------------------------ stale buttons


async def test_a_yes_withdraw_pressed_again_after_the_school_restarted_its_eoi_changes_nothing(service):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    await head.say("withdraw")
    yes = head.find("Yes, withdraw")
    assert "is withdrawn" in await head.press("Yes, withdraw")
    assert "draft again" in await head.say("start")

    # The same "Yes, withdraw" again (a late second click, or scrolled up to): it was for the submitted EOI.
    head.replies = await service.conversations.handle(Turn(head.speaker, action=yes.action))

    assert f"when {ref} was submitted" in head.text and "It is a draft now, so I've done nothing" in head.text
    assert f"{ref} is *draft*" in head.last.text.markup  # what is true now
    assert (await _eoi(service, ref)).status == eois.DRAFT
    assert "Here is everything" in await head.say("review")  # the dialog is where it was: at the review


async def test_an_i_confirm_pressed_after_the_eoi_was_withdrawn_says_so_and_submits_nothing(service):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS:
        await head.say(answer)
    await head.press("Submit")
    confirm = head.find("I confirm")
    ref = _ref(await head.press("I confirm"))
    assert "is withdrawn" in await head.say(f"withdraw {ref} confirm")

    head.replies = await service.conversations.handle(Turn(head.speaker, action=confirm.action))

    assert f"when {ref} was a draft" in head.text and "It is withdrawn now" in head.text
    assert (await _eoi(service, ref)).status == eois.WITHDRAWN


async def test_on_slack_a_review_button_acts_on_the_eoi_it_was_shown_for_not_the_one_begun_since(slack):
    head = slack.person(HEAD_ID)
    await head.slash("start")
    for answer in RESOURCED_ANSWERS:
        await head.types(answer)
    rp_review = head.last
    rp = _ref(text_of(rp_review))
    await head.types("save")
    await head.types("start PP")  # the school's Partnership Provision EOI, a second one in this window
    pp = _ref(head.heard)
    assert pp != rp

    # Back up the chat, the Resourced Provision's review: its Change Places button is for that EOI.
    await head.press("Change Places", messages=[rp_review])
    assert "How many places" in head.heard
    await head.types("14")
    assert "*Places*: 14" in head.heard and rp in head.heard

    found = await _school_eois(slack)
    assert found["resourced"].ref == rp and found["resourced"].answers["places"] == 14
    assert "places" not in found["partnership"].answers

    # Once the Resourced Provision is submitted, its old review's buttons say so and change nothing.
    await head.press("Submit")
    await head.press("I confirm")
    assert (await _school_eois(slack))["resourced"].status == eois.SUBMITTED
    await head.press("Change Places", messages=[rp_review])
    assert f"when {rp} was a draft" in head.heard and "It is submitted now, so I've done nothing" in head.heard
    assert (await _school_eois(slack))["resourced"].status == eois.SUBMITTED


async def test_on_slack_a_button_forged_to_name_another_eoi_or_a_made_up_state_does_nothing(slack):
    head = slack.person(HEAD_ID)
    await head.slash("start")
    question = head.last
    _, _, element = head.button("Resourced Provision")
    wire = json.loads(element["value"])
    assert wire[-1] == {"eoi": wire[-1]["eoi"], "state": "draft"}  # the button names its EOI and state

    forged = json.dumps([*wire[:-1], {"eoi": "1", "state": "draft"}])
    assert actions.decode(forged) == actions.Unreadable("not an action")
    assert actions.decode(json.dumps(wire[:-1])).shown is None  # a button from before they named their EOI
    assert actions.decode(element["value"]).shown == actions.Shown(wire[-1]["eoi"], "draft")

    element["value"] = json.dumps([*wire[:-1], {"eoi": wire[-1]["eoi"] + 1000, "state": "draft"}])
    await head.press("Resourced Provision", messages=[question])
    assert "another school's EOI" in head.heard and "done nothing" in head.heard
    assert (await _school_eois(slack))[""].answers == {}


# ------------------------------------------------------------------------------------ a command naming an EOI


async def test_withdraw_typed_with_its_reference_in_the_middle_of_a_draft_withdraws_it_and_is_no_answer(service):
    head = await headteacher(service)
    ref = _ref(await head.say("start"))
    for answer in RESOURCED_ANSWERS[: RESOURCED_ANSWERS.index("Sam Patel")]:
        await head.say(answer)
    assert "Who should we contact" in head.text  # a question any words answer

    assert f"{ref} is withdrawn" in await head.say(f"withdraw {ref} confirm")

    eoi = await _eoi(service, ref)
    assert eoi.status == eois.WITHDRAWN and "contact_name" not in eoi.answers


async def test_on_slack_a_head_at_the_review_who_types_withdraw_with_the_reference_is_told_it_is_withdrawn(slack):
    head = slack.person(HEAD_ID)
    await head.slash("start")
    for answer in RESOURCED_ANSWERS:
        await head.types(answer)
    ref = _ref(head.heard)
    assert "Here is everything" in head.heard

    await head.types(f"withdraw {ref} confirm")

    assert f"{ref} is withdrawn" in head.heard and "Here is everything" not in head.heard
    assert (await _school_eois(slack))["resourced"].status == eois.WITHDRAWN
    await head.types(f"start {ref}")  # and changes their mind: the same EOI, a draft again at its review
    assert "draft again" in head.heard and "Here is everything" in head.heard
