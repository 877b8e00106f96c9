"""A head's PDF copy of their EOI is shared in Slack as a file, byte for byte, in their direct messages, whether
it is the turn's own reply or a queued message; if Slack won't take the file, the message says it could not be
attached and never shows the PDF's bytes as text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.slack_adapter import SlackSender
from dialogs.replies import Reply
from dialogs.school_copy import copy_reply, school_copy
from storage.clock import Clock
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import HEAD_ID, Workspace, slack_workspace, text_of

PDF = school_copy(
    school_name="St Mary’s C of E Primary",
    urn="114000",
    reference="EOI-2627A-001",
    submitted_at=datetime(2026, 12, 7, 14, 5, tzinfo=UTC),
    answers=[("Vision", "A “calm” base — £3,000 of kit.")],
)
DM = f"D{HEAD_ID}"


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


def sender(slack: Workspace) -> SlackSender:
    return next(s for s in slack.service.senders if isinstance(s, SlackSender))


def uploaded(slack: Workspace) -> list[bytes]:
    return [data for data in slack.fake.uploads.values() if data]


async def test_the_copy_in_the_heads_chat_is_the_pdf_byte_for_byte(slack: Workspace) -> None:
    reply = copy_reply("EOI-2627A-001", PDF)
    await slack.adapter._file_to_dm(HEAD_ID, reply)  # how a turn's reply with a file is posted
    (shared,) = slack.fake.shared_files(DM)
    assert shared["name"] == "EOI-2627A-001.pdf"
    assert "Here is a copy of what you sent, for your governors" in shared["initial_comment"]
    assert uploaded(slack) == [PDF]


async def test_a_queued_copy_is_uploaded_as_bytes_too(slack: Workspace) -> None:
    queued = Reply.from_dict(copy_reply("EOI-2627A-001", PDF).to_dict())  # as the dispatcher reads it back
    await sender(slack).send(f"slack:{HEAD_ID}", queued, key="notice:1:slack:U0HEAD")
    (shared,) = slack.fake.shared_files(DM)
    assert shared["name"] == "EOI-2627A-001.pdf" and uploaded(slack) == [PDF]


async def test_a_pdf_slack_will_not_take_is_said_not_shown(slack: Workspace) -> None:
    slack.fake.fail_next("files.getUploadURLExternal", status=200, error="not_allowed_token_type")
    await slack.adapter._file_to_dm(HEAD_ID, copy_reply("EOI-2627A-001", PDF))
    assert not slack.fake.shared_files(DM)
    (posted,) = slack.posted_to(HEAD_ID)
    shown = text_of(posted)
    assert "`EOI-2627A-001.pdf` could not be attached to this message." in shown and "%PDF" not in shown

    slack.fake.fail_next("files.getUploadURLExternal", status=200, error="not_allowed_token_type")
    await sender(slack).send(f"slack:{HEAD_ID}", copy_reply("EOI-2627A-001", PDF), key="k")
    assert "could not be attached" in text_of(slack.posted_to(HEAD_ID)[-1])
