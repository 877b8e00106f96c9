"""The Bot Connector calls a Teams turn makes, over the service's own aiohttp connection pool.

botbuilder's CloudAdapter sends every reply through msrest: the activity is deep-copied, serialised by msrest,
and posted with `requests` from a thread pool, each send on a connection of its own; in the benchmark that was
most of a Teams turn's CPU. Here the same REST calls (Bot Framework REST API v3: reply to an activity, send to
a conversation, get a conversation member) go over one aiohttp session with keep-alive connections, with the
same bearer token botbuilder would attach. What is kept from botbuilder: authenticating every incoming
request (the JWT checks), the credentials and their tokens (MSAL), the connector factory that decides which
credentials go to which serviceUrl, and msrest for the calls made rarely (team channel lists, updates).

    FastConnectorClient(inner, session)   wraps the msrest ConnectorClient botbuilder made for a serviceUrl;
                                          its `conversations` answers the three hot calls over aiohttp
    send_reply(context, fields)           a rendered reply (a dict) to the conversation of the turn, without
                                          the msrest round trip (what TurnContext.send_activity does)
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ChannelAccount, DeliveryModes, ResourceResponse
from botframework.connector.auth import AuthenticationConstants
from msrest.exceptions import HttpOperationError

# A token is asked of botbuilder's credentials (MSAL, which caches it) at most this often; tokens last an hour.
TOKEN_SECONDS = 300.0
TIMEOUT = aiohttp.ClientTimeout(total=30)


class ConnectorSession:
    """One aiohttp.ClientSession for every Bot Connector call, made on first use inside the running loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT, json_serialize=_dumps)
        return self._session

    async def close(self, _: object = None) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Response:
    """What teams_channel.send_failed reads from a refused call (status and Retry-After), as msrest gives it."""

    def __init__(self, status: int, headers: Any, text: str) -> None:
        self.status_code = self.status = status
        self.headers = headers
        self.text = text
        self.reason = text


class ConnectorRefused(HttpOperationError):
    """The connector answered with an error status: an msrest HttpOperationError, so everything that handles
    botbuilder's own errors (retries, Retry-After, permanent failures) handles this one too."""

    def __init__(self, status: int, headers: Any, text: str) -> None:  # msrest's __init__ deserialises; not here
        self.message = f"Operation returned an invalid status code {status}: {text[:200]}"
        Exception.__init__(self, self.message)
        self.response = _Response(status, headers, text)
        self.error = None


class _Token:
    """The bearer token botbuilder's credentials give (none in emulator mode, as botbuilder does)."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials
        self.value: str | None = None
        self.expires = 0.0
        self._lock = asyncio.Lock()

    def needed(self) -> bool:
        app_id = getattr(self.credentials, "microsoft_app_id", None)
        return bool(app_id) and app_id != AuthenticationConstants.ANONYMOUS_SKILL_APP_ID

    async def header(self) -> dict[str, str]:
        if not self.needed():
            return {}
        if self.value is None or time.monotonic() > self.expires:
            async with self._lock:
                if self.value is None or time.monotonic() > self.expires:
                    # MSAL may go to the network for a new token: never on the event loop.
                    self.value = await asyncio.to_thread(self.credentials.get_access_token)
                    self.expires = time.monotonic() + TOKEN_SECONDS
        return {"Authorization": f"Bearer {self.value}"}

    def forget(self) -> None:
        self.value = None


class FastConversations:
    """`ConnectorClient.conversations` with its hot calls over aiohttp; every other call goes to msrest."""

    def __init__(self, inner: Any, base_url: str, token: _Token, session: ConnectorSession) -> None:
        self._inner, self._base, self._token, self._session = inner, base_url.rstrip("/"), token, session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = await self._token.header()
        http = self._session.get()
        async with http.request(method, self._base + path, json=body, headers=headers) as response:
            text = await response.text()
            if response.status >= 400:
                if response.status == 401:
                    self._token.forget()  # revoked or expired early: the next call asks for a new one
                raise ConnectorRefused(response.status, response.headers, text)
            return json.loads(text) if text.strip() else {}

    async def post_activity(self, conversation_id: str, reply_to_id: str | None, body: dict[str, Any]) -> str:
        """Post an activity (already in wire form): a reply to `reply_to_id`, or a new message. Its id."""
        path = f"/v3/conversations/{_q(conversation_id)}/activities"
        if reply_to_id:
            path += f"/{_q(reply_to_id)}"
        answer = await self._call("POST", path, body)
        return str(answer.get("id") or "") if isinstance(answer, dict) else ""

    async def reply_to_activity(self, conversation_id: str, activity_id: str, activity: Activity, **_: Any) -> Any:
        return ResourceResponse(id=await self.post_activity(conversation_id, activity_id, activity.serialize()))

    async def send_to_conversation(self, conversation_id: str, activity: Activity, **_: Any) -> Any:
        return ResourceResponse(id=await self.post_activity(conversation_id, None, activity.serialize()))

    async def get_conversation_member(self, conversation_id: str, member_id: str, **_: Any) -> ChannelAccount:
        found = await self._call("GET", f"/v3/conversations/{_q(conversation_id)}/members/{_q(member_id)}")
        return ChannelAccount().deserialize(found if isinstance(found, dict) else {})


class FastConnectorClient:
    """botbuilder's ConnectorClient for one serviceUrl, with `conversations` sending over aiohttp."""

    def __init__(self, inner: Any, session: ConnectorSession) -> None:
        self._inner = inner
        self.config = inner.config
        base_url = getattr(inner.config, "base_url", "") or ""
        self.conversations = FastConversations(inner.conversations, base_url, _Token(inner.config.credentials), session)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _q(part: str) -> str:
    return quote(str(part), safe="")


def _wire(model: Any) -> Any:
    return model.serialize() if model is not None else None


async def send_reply(context: TurnContext, fields: dict[str, Any]) -> None:
    """Send a rendered reply (teams_cards' dict) into the conversation the turn came from, addressed as
    TurnContext.send_activity addresses it (from the bot, to the user, as a reply to their message), without
    the deep copy and the msrest model round trip."""
    incoming = context.activity
    client = context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
    conversations = getattr(client, "conversations", None)
    if not isinstance(conversations, FastConversations) or incoming.delivery_mode == DeliveryModes.expect_replies:
        await context.send_activity(Activity().deserialize(fields))  # botbuilder's own way
        return
    body = {
        "type": "message",
        "inputHint": "acceptingInput",
        **fields,
        "channelId": incoming.channel_id,
        "serviceUrl": incoming.service_url,
        "conversation": _wire(incoming.conversation),
        "from": _wire(incoming.recipient),
        "recipient": _wire(incoming.from_property),
    }
    if incoming.locale:
        body["locale"] = incoming.locale
    body.pop("id", None)
    reply_to = _reply_to(incoming)
    if reply_to:
        body["replyToId"] = reply_to
    await conversations.post_activity(incoming.conversation.id, reply_to, body)
    context.responded = True


def _reply_to(activity: Activity) -> str | None:
    """The reply's place in the thread, as TurnContext.get_conversation_reference decides it: none for a
    conversation update, nor on Direct Line or Web Chat."""
    if activity.type == "conversationUpdate" or activity.channel_id in ("directline", "webchat"):
        return None
    return activity.id or None
