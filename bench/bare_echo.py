"""The frameworks' floor: bare echo bots in the same aiohttp style as `eoi-bot serve`, run as subprocesses.

    python -m bench.bare_echo slack --port P   # slack-bolt AsyncApp at POST /slack/events: ack, then
                                               # chat.postMessage the text back to the user's DM
    python -m bench.bare_echo teams --port P   # botbuilder CloudAdapter at POST /api/messages (emulator mode):
                                               # send_activity the text back through the serviceUrl
    python -m bench.bare_echo agents --port P  # the Microsoft 365 Agents SDK's CloudAdapter, anonymous, the same

Environment: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL (the fake Web API). No database, no
dialogs, no logging per request: only what the framework itself costs.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from aiohttp import web


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def slack_app() -> web.Application:
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    base_url = os.environ["SLACK_API_URL"]
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=base_url)
    bolt = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], process_before_response=False)

    @bolt.event("message")
    async def echo(event: dict[str, Any]) -> None:
        if event.get("channel_type") == "im" and not event.get("bot_id"):
            await client.chat_postMessage(channel=event["user"], text=event.get("text") or "…")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


def teams_app() -> web.Application:
    from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    class Config:
        APP_ID = ""
        APP_PASSWORD = ""
        APP_TYPE = "MultiTenant"
        APP_TENANTID = ""

    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))

    class Echo(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(MessageFactory.text(turn_context.activity.text or "…"))

    bot = Echo()

    async def messages(request: web.Request) -> web.Response:
        response = await adapter.process(request, bot)
        return response or web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


def agents_app() -> web.Application:
    """The Microsoft 365 Agents SDK's own echo, anonymous (as botbuilder's above, emulator mode)."""
    from microsoft_agents.authentication.msal import MsalConnectionManager
    from microsoft_agents.hosting.aiohttp import CloudAdapter
    from microsoft_agents.hosting.core import ActivityHandler, TurnContext

    connections = MsalConnectionManager(CONNECTIONS={"SERVICE_CONNECTION": {"SETTINGS": {"ANONYMOUS_ALLOWED": "true"}}})
    adapter = CloudAdapter(connection_manager=connections)

    class Echo(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(turn_context.activity.text or "…")

    bot = Echo()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_echo")
    parser.add_argument("platform", choices=("slack", "teams", "agents"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = {"slack": slack_app, "teams": teams_app, "agents": agents_app}[args.platform]()
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
