"""Slack over Socket Mode: with SLACK_APP_TOKEN the service connects out (apps.connections.open, then a
WebSocket) instead of serving /slack/events; people type, press buttons and use /eoi exactly as over HTTP; every
envelope is acknowledged; one delivered again is handled once; and a dropped connection is replaced without
losing or repeating a turn. Slack's side is tests/fakes/slack_socket_mode.py on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot import slack_socket_mode
from bot.app import build_app, channel_summary
from bot.config import load_settings
from bot.service import Service, open_service
from bot.slack_adapter import SLACK, SlackAdapter
from storage.models import School
from tests.conftest import make_settings
from tests.fakes import slack_requests as sr
from tests.fakes import slack_socket_mode as envelopes
from tests.fakes.slack_socket_mode import FakeSocketMode
from tests.fakes.slack_web_api import FakeSlackWebApi
from tests.slack_fixtures import text_of

APP_TOKEN = "xapp-1-A0EOIBOT1-1234567890-abcdef"
HEAD_ID, OFFICER_ID = "U0HEAD", "U0OFFICER"


@dataclass
class Connected:
    client: TestClient
    web: FakeSlackWebApi
    slack: FakeSocketMode
    service: Service
    adapter: SlackAdapter

    def said_to(self, user: str) -> list[str]:
        """What the bot posted in this person's DM, in order."""
        return [
            text_of({**c.args, "blocks": _blocks(c.args.get("blocks"))})
            for c in self.web.recorded("chat.postMessage")
            if c.ok and c.args.get("channel") == user
        ]

    async def answered(self, user: str, count: int) -> list[str]:
        """Wait until the bot has posted `count` messages in total to this person's DM."""
        for _ in range(500):
            if len(self.said_to(user)) >= count:
                break
            await asyncio.sleep(0.01)
        await self.adapter.drain(timeout=10)
        return self.said_to(user)


def _blocks(raw: object) -> list[dict]:
    return json.loads(raw) if isinstance(raw, str) else list(raw or [])  # type: ignore[call-overload]


@pytest.fixture
async def socket_mode(test_db, clock, monkeypatch) -> AsyncIterator[Connected]:
    """The service with Slack in Socket Mode (no signing secret: nothing comes in over HTTP)."""
    monkeypatch.setattr(slack_socket_mode, "PING_INTERVAL", 0.2)  # a dropped connection is replaced quickly
    db = await test_db.create(demo_at=clock.now())
    async with db.session() as session:
        head_email = (await session.get(School, "114000")).headteacher_email
    async with FakeSlackWebApi() as web:
        slack = await FakeSocketMode().start()
        web.socket_mode_url = slack.url
        web.add_user(HEAD_ID, head_email, "Pat Head")
        web.add_user(OFFICER_ID, "officer@essex.example", "Olu Officer")
        settings = make_settings(
            test_db.url,
            slack_bot_token="xoxb-test",
            slack_app_token=APP_TOKEN,
            slack_api_url=web.base_url,
            officers=(("slack", OFFICER_ID),),
        )
        service = await open_service(settings, clock=clock, db=db)
        app = build_app(service)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()  # the app's start-up connects out
        try:
            await slack.connected()
            yield Connected(client, web, slack, service, app[SLACK])
        finally:
            await client.close()
            await slack.stop()
            await service.close()


async def test_with_an_app_token_the_service_connects_out_and_serves_no_events_route(socket_mode):
    opened = socket_mode.web.recorded("apps.connections.open")
    assert len(opened) == 1 and opened[0].ok
    assert opened[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"  # the app-level token, not the bot's
    response = await socket_mode.client.post("/slack/events", data=sr.message_im_event_body(HEAD_ID, "start"))
    assert response.status == 404  # nothing comes in over HTTP


async def test_a_headteacher_types_presses_a_button_and_uses_the_slash_command_over_the_socket(socket_mode):
    slack = socket_mode.slack
    typed = await slack.request(envelopes.events_api(sr.message_im_event_body(HEAD_ID, "start")))
    assert "payload" not in typed  # an event is acknowledged with its envelope id alone
    said = await socket_mode.answered(HEAD_ID, 1)
    assert "Which kind of provision are you offering to host?" in said[-1]  # the first question

    # Press the first choice on the question, as Slack sends a click over the socket.
    question = next(
        c.args for c in reversed(socket_mode.web.recorded("chat.postMessage")) if c.args.get("channel") == HEAD_ID
    )
    button = next(
        e
        for b in _blocks(question["blocks"])
        for e in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
        if e.get("type") == "button"
    )
    click = sr.block_actions_body(HEAD_ID, button["action_id"], button["value"], button_text=button["text"]["text"])
    await slack.request(envelopes.interactive(click))
    said = await socket_mode.answered(HEAD_ID, len(said) + 1)
    assert "need" in said[-1].casefold()  # on to the next question

    url = socket_mode.web.response_url("status")
    await slack.request(envelopes.slash_commands(sr.slash_command_body("status", HEAD_ID, response_url=url)))
    await socket_mode.adapter.drain()
    shown = "\n".join(socket_mode.said_to(HEAD_ID)[len(said) :])
    assert "EOI-2627A-" in shown or "draft" in shown.casefold(), shown


async def test_an_envelope_delivered_twice_is_acknowledged_twice_and_handled_once(socket_mode):
    slack = socket_mode.slack
    url = socket_mode.web.response_url("help")
    command = envelopes.slash_commands(sr.slash_command_body("need", OFFICER_ID, response_url=url))
    await slack.request(command)
    await slack.acked(await slack.send(envelopes.again(command)), times=2)
    typed = sr.message_im_event_body(OFFICER_ID, "need", event_id="Ev0NEED001")
    await slack.request(envelopes.events_api(typed))
    await slack.request(envelopes.events_api(typed, retry_attempt=1, retry_reason="timeout"))
    said = await socket_mode.answered(OFFICER_ID, 2)
    await asyncio.sleep(0.2)  # room for a wrongly repeated turn to show
    assert sum("Identified need" in text for text in socket_mode.said_to(OFFICER_ID)) == 2, said  # one each


async def test_a_dropped_connection_is_replaced_without_losing_or_repeating_a_turn(socket_mode):
    slack = socket_mode.slack
    first = envelopes.events_api(sr.message_im_event_body(OFFICER_ID, "need", event_id="Ev0DROP0001"))
    await slack.send(first)
    slack.drop()  # gone before (or while) the turn is answered: its ack may never arrive
    await slack.connected(2)
    assert len(socket_mode.web.recorded("apps.connections.open")) == 2  # a new URL for the new connection
    # Slack sends again what was not acknowledged, and the next message comes on the new connection.
    await slack.request(envelopes.events_api(json.dumps(first["payload"]), retry_attempt=1, retry_reason="timeout"))
    second = sr.message_im_event_body(OFFICER_ID, "window preview", event_id="Ev0DROP0002")
    await slack.request(envelopes.events_api(second))
    await socket_mode.answered(OFFICER_ID, 2)
    await asyncio.sleep(0.2)
    said = socket_mode.said_to(OFFICER_ID)
    assert sum("Identified need" in text for text in said) == 1, said
    assert sum("schools are in scope" in text for text in said) == 1, said


async def test_when_slack_asks_for_a_refresh_the_service_moves_to_a_new_connection(socket_mode):
    slack = socket_mode.slack
    await slack.refresh()
    await slack.connected(2)
    await slack.request(envelopes.events_api(sr.message_im_event_body(OFFICER_ID, "need")))
    assert any("Identified need" in text for text in await socket_mode.answered(OFFICER_ID, 1))


async def test_a_message_in_hand_when_the_service_stops_is_acknowledged_and_answered_before_it_goes(
    socket_mode, monkeypatch
):
    # A typed message is committed before its ack. Cut off between the two, Slack would send it again, the
    # service would find it handled already, and the headteacher would never hear back.
    slack, conversations = socket_mode.slack, socket_mode.service.conversations
    handle_once, in_hand = conversations.handle_once, asyncio.Event()

    async def slowly(turn, key, **keep):  # type: ignore[no-untyped-def]
        in_hand.set()
        await asyncio.sleep(0.5)
        return await handle_once(turn, key, **keep)

    monkeypatch.setattr(conversations, "handle_once", slowly)
    envelope = envelopes.events_api(sr.message_im_event_body(HEAD_ID, "start"))
    await slack.send(envelope)
    await in_hand.wait()
    await socket_mode.client.close()  # the service stops (SIGTERM) with the turn in hand
    assert await slack.acked(envelope["envelope_id"], timeout=1)  # acknowledged before the connection closed
    said = socket_mode.said_to(HEAD_ID)
    assert len(said) == 1 and "Which kind of provision are you offering to host?" in said[0]


def test_socket_mode_settings_and_banner():
    with pytest.raises(ValueError, match="xapp-"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"})
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": APP_TOKEN})
    assert settings.slack_enabled and settings.slack_socket_mode  # no signing secret needed: nothing is signed
    assert "Slack: on over Socket Mode" in "\n".join(channel_summary(settings))


def test_the_socket_mode_manifest_is_the_http_one_without_request_urls():
    """One app, two ways in: the manifests differ only in socket_mode_enabled and the request URLs, so scopes,
    events and the slash command can't drift between them."""
    folder = Path(__file__).resolve().parents[3] / "manifest" / "slack"
    http = yaml.safe_load((folder / "manifest.yaml").read_text(encoding="utf-8"))
    socket = yaml.safe_load((folder / "manifest.socket-mode.yaml").read_text(encoding="utf-8"))
    assert http["settings"]["socket_mode_enabled"] is False and socket["settings"]["socket_mode_enabled"] is True
    for command in http["features"]["slash_commands"]:
        assert command.pop("url") == "https://YOUR-HOST/slack/events"
    assert http["settings"]["event_subscriptions"].pop("request_url") == "https://YOUR-HOST/slack/events"
    assert http["settings"]["interactivity"].pop("request_url") == "https://YOUR-HOST/slack/events"
    http["settings"]["socket_mode_enabled"] = True
    assert socket == http
