"""Slack over Socket Mode, for a council that cannot expose an inbound URL: with SLACK_APP_TOKEN (an app-level
`xapp-` token with connections:write) the service connects out to Slack over a WebSocket (slack-bolt's
AsyncSocketModeHandler on aiohttp) instead of serving POST /slack/events.

Everything after the envelope arrives is what HTTP does: the same Bolt app, listeners, turn runner and once-only
keys. Slack's envelope replaces the HTTP request: its ack is the envelope id sent back (with a response payload
when a listener acks with one, e.g. a form's errors). A message or Home-tab event redelivered (retry_attempt) is
known by its event_id, as over HTTP; a slash command or button press, which has no signature here, by its
envelope id (slack_adapter.request_key), so an envelope sent again over a new connection is handled once. When
the connection drops, the client asks apps.connections.open for a new URL and reconnects (within about
PING_INTERVAL seconds); an envelope that was never acknowledged comes again and is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("eoi-bot.slack")

# Seconds between the client's pings; a connection that stops answering is replaced after about four of them,
# and one that closes, after about one.
PING_INTERVAL = 10.0
# The envelope's id, set here on the Bolt request (never over HTTP) and read by bot.slack_adapter.request_key.
ENVELOPE_HEADER = "x-eoi-socket-envelope"


class EnvelopeHandler(AsyncSocketModeHandler):
    """Bolt's aiohttp Socket Mode handler, passing each envelope's id to the listeners as a header (which only
    this process sets: an HTTP request is signed, and its signature is its key instead). On shutdown it stops
    taking envelopes and finishes those in hand, acknowledging each, before the connection closes: a typed
    message is committed before its ack, so one cut off there would be redelivered, found already handled, and
    never answered."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.closing = False
        self._in_hand: set[asyncio.Task[object]] = set()

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if self.closing:
            return  # not acknowledged: Slack sends it again, to a connection that stays
        task = asyncio.current_task()
        if task is not None:
            self._in_hand.add(task)
        try:
            started = time.time()
            headers = dict(build_headers(req) or {})
            headers[ENVELOPE_HEADER] = req.envelope_id
            request = AsyncBoltRequest(mode="socket_mode", body=req.payload, headers=headers)
            response = await self.app.async_dispatch(request)
            await send_async_response(client, req, response, started)
        finally:
            if task is not None:
                self._in_hand.discard(task)

    async def finish(self, timeout: float = 10.0) -> None:
        """Take no new envelopes; wait (up to `timeout`) for those in hand to be handled and acknowledged."""
        self.closing = True
        if self._in_hand:
            await asyncio.wait(set(self._in_hand), timeout=timeout)


def connect_out(app: web.Application, bolt: AsyncApp, client: AsyncWebClient, app_token: str) -> None:
    """Connect to Slack when the app starts and close the connection when it stops. The handler is made inside
    the running service, so a one-off command that builds the app (`eoi-bot announce`) never connects."""

    handlers: list[EnvelopeHandler] = []

    async def finish_envelopes(_: web.Application) -> None:
        for handler in handlers:
            await handler.finish()

    async def connection(_: web.Application) -> AsyncIterator[None]:
        handler = EnvelopeHandler(bolt, app_token, logger=log, web_client=client, ping_interval=PING_INTERVAL)
        handlers.append(handler)
        # In the background: the service (and /healthz) is up while Slack is reached, and retried if it isn't.
        connecting = asyncio.create_task(handler.connect_async())
        yield
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        await handler.close_async()

    app.cleanup_ctx.append(connection)
    # Shutdown runs before clean-up, in order: envelopes in hand finish (and are acknowledged) first, then the
    # replies and turns they left running (the adapter's drain, added after this), then the connection closes.
    app.on_shutdown.append(finish_envelopes)
