"""Slack's side of Socket Mode on loopback: a WebSocket that FakeSlackWebApi's apps.connections.open points at.

On each connection it says `hello`, as Slack does; a test sends envelopes in Slack's shapes (events_api,
slash_commands, interactive: as in bolt-python's and python-slack-sdk's own Socket Mode tests) and waits for
their acks (`{"envelope_id": …, "payload"?: …}`). `drop()` cuts the connection without a close frame, as a
network failure does; the client then opens a new connection through apps.connections.open.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from aiohttp import WSMsgType, web

JsonDict = dict[str, Any]
APP_ID = "A0EOIBOT1"


class FakeSocketMode:
    def __init__(self) -> None:
        self.base_url = ""
        self.connections = 0  # WebSocket connections accepted so far
        self.acks: dict[str, list[JsonDict]] = {}  # envelope id -> each ack received for it
        self.received: list[JsonDict] = []  # every message the client sent
        self._socket: web.WebSocketResponse | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._changed = asyncio.Condition()
        self._tickets = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"ws://{host}:{port}/link/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self) -> str:
        """What apps.connections.open answers: a new ticket each time, as Slack's are."""
        return f"{self.base_url}?ticket={next(self._tickets)}&app_id={APP_ID}"

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        async with self._changed:
            self.connections += 1
            self._socket, self._transport = socket, request.transport
            self._changed.notify_all()
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            async with self._changed:
                self.received.append(data)
                if "envelope_id" in data:
                    self.acks.setdefault(data["envelope_id"], []).append(data)
                self._changed.notify_all()
        return socket

    async def connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until the client has made `count` connections in all."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.connections >= count), timeout)

    async def send(self, envelope: JsonDict) -> str:
        assert self._socket is not None and not self._socket.closed, "the client is not connected"
        await self._socket.send_json(envelope)
        return str(envelope["envelope_id"])

    async def acked(self, envelope_id: str, times: int = 1, timeout: float = 10.0) -> JsonDict:
        """Wait for the client's ack of this envelope (the `times`-th one); returns it."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.acks.get(envelope_id, [])) >= times), timeout
            )
            return self.acks[envelope_id][times - 1]

    async def request(self, envelope: JsonDict, timeout: float = 10.0) -> JsonDict:
        """Send an envelope and wait for its ack."""
        return await self.acked(await self.send(envelope), timeout=timeout)

    async def refresh(self) -> None:
        """Slack's notice that it will close this connection soon (it does every few hours): open another."""
        assert self._socket is not None
        await self._socket.send_json(
            {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "applink-fake"}}
        )

    def drop(self) -> None:
        """Cut the connection: no close frame, as when a network path fails."""
        assert self._transport is not None
        self._transport.abort()


# ------------------------------------------------------------------------------------------------ envelopes
def _envelope(kind: str, payload: JsonDict, *, accepts_response_payload: bool, **extra: Any) -> JsonDict:
    return {
        "envelope_id": str(uuid.uuid4()),
        "payload": payload,
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
        **extra,
    }


def events_api(body: str, *, retry_attempt: int = 0, retry_reason: str = "") -> JsonDict:
    """An Events API envelope carrying an event_callback (tests.fakes.slack_requests builds the body)."""
    return _envelope(
        "events_api",
        json.loads(body),
        accepts_response_payload=False,
        retry_attempt=retry_attempt,
        retry_reason=retry_reason,
    )


def slash_commands(body: str) -> JsonDict:
    """A slash command envelope: the same fields as the form Slack POSTs over HTTP, as a JSON object."""
    fields = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
    return _envelope("slash_commands", fields, accepts_response_payload=True)


def interactive(body: str) -> JsonDict:
    """An interactive envelope (block_actions, view_submission): the `payload=` JSON of the HTTP form."""
    return _envelope("interactive", json.loads(parse_qs(body)["payload"][0]), accepts_response_payload=False)


def again(envelope: JsonDict) -> JsonDict:
    """The same envelope delivered again (as after a connection drops before its ack)."""
    return dict(envelope)
