"""Hostile replays on Slack: anyone who captures a signed request (a proxy log, a browser extension) may post it
again inside Slack's five-minute signature window. A replayed slash command, button press or form submission
is acknowledged and does nothing; a real second press (a new request, so a new signature) still counts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.slack_blocks import form_to_json
from dialogs.officer_commands import schedule_form
from storage.models import AuditEntry, Discussion, Notice
from tests import chat
from tests.fakes import slack_requests as sr
from tests.slack_fixtures import (
    HEAD_ID,
    OFFICER_ID,
    SCHOOL_CHANNEL,
    SCHOOL_URN,
    SECRET,
    Workspace,
    slack_workspace,
    text_of,
)


@pytest.fixture
async def ws(test_db, clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


async def _count(ws: Workspace, model: type, *where: object) -> int:
    async with ws.service.db.session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def _shortlisted(ws: Workspace) -> str:
    """School 114000 has submitted its EOI (through the dialog) and an officer has shortlisted it."""
    head = await chat.headteacher(ws.service, SCHOOL_URN)
    text = await chat.complete_eoi(head)
    ref = next(word.strip("*.") for word in text.split() if word.strip("*.").startswith("EOI-"))
    await ws.person(OFFICER_ID).slash(f"shortlist {ref}")
    return ref


async def _post_twice(ws: Workspace, body: str) -> None:
    """The request as Slack signed it, then the very same bytes and headers again (a replay)."""
    headers = sr.signed_headers(SECRET, body)
    for _ in range(2):
        response = await ws.post(body, headers=headers)
        assert response.status == 200, await response.text()  # the replay is acknowledged, like the original
        await ws.settle()


def _invitations(ws: Workspace) -> list[str]:
    return [text_of(m) for m in ws.posted_to(SCHOOL_CHANNEL) if "invites you" in text_of(m)]


async def test_a_replayed_schedule_slash_command_schedules_one_discussion_and_invites_the_school_once(ws):
    ref = await _shortlisted(ws)
    await _post_twice(ws, sr.slash_command_body(f"schedule {ref} Tuesday 2pm", OFFICER_ID))
    await ws.deliver_notices()
    assert await _count(ws, Discussion) == 1
    assert await _count(ws, AuditEntry, AuditEntry.action == "schedule") == 1
    assert len(_invitations(ws)) == 1
    assert len([m for m in ws.posted_to(OFFICER_ID) if "Scheduled" in text_of(m)]) == 1

    # A real second command (new timestamp, new trigger: a new signature) is a reschedule, as before.
    await ws.turn(sr.slash_command_body(f"schedule {ref} Wednesday 2pm", OFFICER_ID), ws.person(OFFICER_ID))
    assert await _count(ws, AuditEntry, AuditEntry.action == "schedule") == 2


async def test_a_replayed_button_press_is_handled_once(ws):
    ref = await _shortlisted(ws)
    head = ws.person(HEAD_ID)
    await head.types("status")  # the headteacher is known on Slack, so the invitation reaches their DM
    await ws.person(OFFICER_ID).slash(f"schedule {ref} Tuesday 2pm")
    await ws.deliver_notices()
    invitation = ws.posted_to(HEAD_ID)[-1]
    message, block, element = head.button("Accept", [invitation])
    press = sr.block_actions_body(
        HEAD_ID,
        element["action_id"],
        element.get("value"),
        block_id=block.get("block_id", "b"),
        button_text=element["text"]["text"],
        message={"type": "message", "text": message.get("text", ""), "blocks": message.get("blocks", [])},
    )
    mark = len(ws.fake.calls)
    await _post_twice(ws, press)
    assert await _count(ws, AuditEntry, AuditEntry.action == "discussion accepted") == 1
    assert await _count(ws, Notice, Notice.kind == "discussion reply") == 1
    assert ["accepted" in text_of(m) for m in ws.posted_to(HEAD_ID, since=mark)] == [True]


async def test_a_replayed_form_submission_is_handled_once(ws):
    ref = await _shortlisted(ws)
    metadata = json.dumps({"form": form_to_json(schedule_form(ref))})
    submission = sr.view_submission_body(
        OFFICER_ID, "eoi_form", {"when": {"value": "Tuesday at 2pm"}, "place": {"value": "County Hall"}}, metadata
    )
    await _post_twice(ws, submission)
    await ws.deliver_notices()
    assert await _count(ws, Discussion) == 1
    assert await _count(ws, AuditEntry, AuditEntry.action == "schedule") == 1
    assert len(_invitations(ws)) == 1
