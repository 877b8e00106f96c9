"""The Bot Connector calls a Teams turn makes over our aiohttp session (bot/teams_connector.py) carry the token
botbuilder's credentials give, reuse one connection, and fail the way botbuilder's own client fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from msrest.exceptions import HttpOperationError

from bot.teams_channel import send_failed
from bot.teams_connector import ConnectorSession, FastConnectorClient


class Credentials(MicrosoftAppCredentials):
    """Botbuilder's app credentials, with the token MSAL would fetch already in hand (no network)."""

    asked = 0

    def get_access_token(self, force_refresh: bool = False) -> str:
        Credentials.asked += 1
        return "token-from-msal"


class Connector:
    """A Bot Connector that records what reaches it, and refuses what it is told to."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.refuse: tuple[int, dict[str, str]] | None = None
        self.app = web.Application()
        self.app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self.reply)
        self.app.router.add_get("/v3/conversations/{cid}/members/{mid}", self.member)

    async def reply(self, request: web.Request) -> web.Response:
        self.seen.append(
            {
                "path": request.path,
                "authorization": request.headers.get("Authorization"),
                "peer": request.transport.get_extra_info("peername") if request.transport else None,
                "body": await request.json(),
            }
        )
        if self.refuse:
            status, headers = self.refuse
            return web.json_response(
                {"error": {"code": "Throttled", "message": "slow down"}}, status=status, headers=headers
            )
        return web.json_response({"id": f"reply-{len(self.seen)}"})

    async def member(self, request: web.Request) -> web.Response:
        self.seen.append({"path": request.path, "authorization": request.headers.get("Authorization")})
        return web.json_response(
            {"id": request.match_info["mid"], "name": "Sam Patel", "email": "sam@school.example", "userRole": "user"}
        )


@pytest.fixture
async def connector() -> AsyncIterator[tuple[Connector, str]]:
    fake = Connector()
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


def _client(base_url: str, credentials: Any, session: ConnectorSession) -> FastConnectorClient:
    return FastConnectorClient(ConnectorClient(credentials, base_url=base_url), session)


def _reply(text: str) -> Activity:
    return Activity(type="message", text=text)


async def test_a_reply_carries_botbuilders_token_and_replies_share_one_connection(connector) -> None:
    fake, base_url = connector
    session = ConnectorSession()
    client = _client(base_url, Credentials("app-id", "secret"), session)
    try:
        Credentials.asked = 0
        first = await client.conversations.reply_to_activity("a:1;messageid=9", "1700000000001", _reply("one"))
        second = await client.conversations.reply_to_activity("a:1;messageid=9", "1700000000002", _reply("two"))
        member = await client.conversations.get_conversation_member("a:1", "29:1sam")
    finally:
        await session.close()
    assert (first.id, second.id) == ("reply-1", "reply-2")
    assert member.name == "Sam Patel" and member.additional_properties.get("email") == "sam@school.example"
    assert {s["authorization"] for s in fake.seen} == {"Bearer token-from-msal"}
    assert Credentials.asked == 1  # MSAL is asked once, not on every send
    # The conversation id's `:` and `;` are escaped as botbuilder escapes them, so the path keeps its shape.
    assert fake.seen[0]["path"] == "/v3/conversations/a:1;messageid=9/activities/1700000000001"
    assert fake.seen[0]["body"]["text"] == "one"
    assert fake.seen[0]["peer"] == fake.seen[1]["peer"]  # one kept-alive connection, not one per reply


async def test_in_emulator_mode_no_token_is_sent(connector) -> None:
    fake, base_url = connector
    session = ConnectorSession()
    client = _client(base_url, MicrosoftAppCredentials(None, None), session)
    try:
        await client.conversations.reply_to_activity("a:1", "1", _reply("hello"))
    finally:
        await session.close()
    assert fake.seen[0]["authorization"] is None


async def test_a_throttled_reply_fails_as_botbuilders_client_fails_with_its_retry_after(connector) -> None:
    fake, base_url = connector
    fake.refuse = (429, {"Retry-After": "3"})
    session = ConnectorSession()
    client = _client(base_url, MicrosoftAppCredentials(None, None), session)
    try:
        with pytest.raises(HttpOperationError) as refused:
            await client.conversations.reply_to_activity("a:1", "1", _reply("hello"))
    finally:
        await session.close()
    failed = send_failed(refused.value)
    assert failed.retry_after == 3.0 and not failed.permanent
    fake.refuse = (404, {})
    session = ConnectorSession()
    client = _client(base_url, MicrosoftAppCredentials(None, None), session)
    try:
        with pytest.raises(HttpOperationError) as gone:
            await client.conversations.reply_to_activity("a:1", "1", _reply("hello"))
    finally:
        await session.close()
    assert send_failed(gone.value).permanent
