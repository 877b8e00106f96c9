"""Logs for a log collector (EOI_LOG_FORMAT=json): a headteacher's turns in Slack, and one that fails, come out as
one JSON object per line, naming people only by platform id: no name, email or anything they typed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from bot.config import load_settings
from storage.clock import Clock
from tests.conftest import TestDatabase as _TestDatabase
from tests.fakes import slack_requests as sr
from tests.slack_fixtures import HEAD_ID, slack_workspace

SECRET_ANSWER = "our nurture room zebra-quartz plan"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The process's log in JSON, as `eoi-bot serve` sets it up with EOI_LOG_FORMAT=json, into a buffer."""
    root = logging.getLogger()
    kept = (list(root.handlers), root.level)
    out = io.StringIO()
    logs.configure(load_settings({"EOI_LOG_FORMAT": "json"}).log_format, stream=out)
    yield out
    for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER]:
        root.removeHandler(handler)
    root.setLevel(kept[1])


async def test_a_headteachers_turns_log_json_lines_without_personal_data(
    test_db: _TestDatabase, clock: Clock, json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_workspace(test_db, clock) as slack:
        head = slack.person(HEAD_ID)
        email = slack.fake.users[HEAD_ID]["profile"]["email"]
        await head.types("start")
        await head.types(SECRET_ANSWER)

        async def broken(*args: object, **kwargs: object) -> None:
            # A driver's message can repeat what it was given; the log must not.
            raise RuntimeError(f"could not store {SECRET_ANSWER!r} for {email}")

        monkeypatch.setattr(slack.service.conversations, "handle_once", broken)
        await slack.post(sr.message_im_event_body(HEAD_ID, SECRET_ANSWER))
        await slack.settle()

    lines = [line for line in json_log.getvalue().splitlines() if line]
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(event) for event in events)
    turns = [event for event in events if event.get("event") == "turn"]
    assert [t["outcome"] for t in turns] == ["answered", "answered", "failed"]
    assert {t["user"] for t in turns} == {f"slack:{HEAD_ID}"} and all(t["channel"] == "slack" for t in turns)
    assert all(isinstance(t["ms"], float) for t in turns)
    failure = next(event for event in events if event["level"] == "error")
    assert "RuntimeError" in failure["message"]  # what failed and where, for whoever is on call
    text = json_log.getvalue()
    for personal in ("Pat Head", "Pat", email, SECRET_ANSWER, "zebra-quartz"):
        assert personal not in text, f"{personal!r} is in the log"


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="EOI_LOG_FORMAT='xml': use text or json"):
        load_settings({"EOI_LOG_FORMAT": "xml"})
