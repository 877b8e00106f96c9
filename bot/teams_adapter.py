"""Microsoft Teams on botbuilder-core's CloudAdapter (the Bot Framework SDK 4.17, archived: its support ended on
31 December 2025), the default of EOI_TEAMS_SDK until the Agents SDK channel (bot.teams_agents) has run in a real
tenant. Everything that isn't a botbuilder call is bot.teams_channel's; with bot.teams_connector, this is where
botbuilder is imported.

    bot.teams_channel.handle -> BotbuilderTeams.authenticate (botbuilder's JWT checks)
        -> CloudAdapter.process_activity -> TeamsChannel._on_turn -> post (bot.teams_connector, over aiohttp)
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, ConversationReference
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
)
from msrest.exceptions import HttpOperationError

from bot.delivery import SendFailed
from bot.service import Service
from bot.teams_channel import TeamsChannel, send_failed
from bot.teams_connector import ConnectorSession, FastConnectorClient, send_reply


# ----------------------------------------------------------------------------------------------- clients
class _Config:
    """What ConfigurationBotFrameworkAuthentication reads (the names of botbuilder's config.py)."""

    def __init__(self, app_id: str, password: str, tenant_id: str, app_type: str) -> None:
        self.APP_ID, self.APP_PASSWORD = app_id, password
        self.APP_TENANTID, self.APP_TYPE = tenant_id, app_type or "SingleTenant"


class _ClientCache:
    """Connector clients per (app id, service URL, audience), reused across turns and proactive sends.

    CloudAdapter's own factories build a new ConnectorClient (msrest configuration, pipeline, session) for
    every activity; that is most of a turn's CPU. The credentials object refreshes its token by itself, so a
    client stays valid. Bounded, because in emulator mode anyone may name a serviceUrl."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.clients: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self.token_clients: dict[str, Any] = {}
        self.http = ConnectorSession()  # replies and member look-ups go over it (bot.teams_connector)

    async def get(self, key: tuple[str, str, str], make: Callable[[], Awaitable[Any]]) -> Any:
        client = self.clients.get(key)
        if client is None:
            made = await make()
            # The dispatcher (proactive) and _send_replies (in a turn) decide about retries, never msrest:
            # a retried POST after a timeout is how a message arrives twice.
            made.config.retry_policy.retries = 0
            client = FastConnectorClient(made, self.http)
            self.clients[key] = client
            while len(self.clients) > self.size:
                self.clients.popitem(last=False)
        else:
            self.clients.move_to_end(key)
        return client


def _app_id(claims: ClaimsIdentity | None) -> str:
    values = (claims.claims if claims else None) or {}
    return str(values.get("aud") or values.get("appid") or values.get("azp") or "")


class _ReusingConnectorFactory(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory, cache: _ClientCache, app_id: str) -> None:
        self.inner, self.cache, self.app_id = inner, cache, app_id

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        key = (self.app_id, service_url or "", audience or "")
        return await self.cache.get(key, lambda: self.inner.create(service_url, audience))


class _ReusingAuthentication(BotFrameworkAuthentication):
    """Botbuilder's authentication, unchanged, except that connector clients are reused."""

    def __init__(self, inner: BotFrameworkAuthentication, cache: _ClientCache) -> None:
        self.inner, self.cache = inner, cache

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await self.inner.authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _ReusingConnectorFactory(
                result.connector_factory, self.cache, _app_id(result.claims_identity)
            )
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        return await self.inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = self.inner.create_connector_factory(claims_identity)
        return _ReusingConnectorFactory(inner, self.cache, _app_id(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> Any:
        app_id = _app_id(claims_identity)
        client = self.cache.token_clients.get(app_id)
        if client is None:
            client = await self.inner.create_user_token_client(claims_identity)
            self.cache.token_clients[app_id] = client
        return client

    def create_bot_framework_client(self) -> Any:
        return self.inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self.inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self.inner.authenticate_channel_request(auth_header)


# ----------------------------------------------------------------------------------------------- the channel
class BotbuilderTeams(TeamsChannel):
    sdk = "botbuilder"

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        settings = service.settings
        config = _Config(
            settings.microsoft_app_id,
            settings.microsoft_app_password,
            settings.microsoft_app_tenant_id,
            # Emulator mode has no app at all: botbuilder's anonymous credentials are its multi-tenant kind.
            "MultiTenant" if self.emulator else settings.microsoft_app_type,
        )
        self.clients = _ClientCache()
        self.auth = _ReusingAuthentication(ConfigurationBotFrameworkAuthentication(config), self.clients)
        self.adapter = CloudAdapter(self.auth)

    def parse(self, body: dict[str, Any]) -> Activity:
        return Activity().deserialize(body)

    async def authenticate(self, activity: Activity, header: str | None) -> AuthenticateRequestResult:
        # With an app id, botbuilder checks the token, and that its serviceurl claim is this activity's.
        return await self.auth.authenticate_request(activity, header)  # type: ignore[arg-type]

    async def process(self, identity: AuthenticateRequestResult, activity: Activity) -> tuple[int, Any] | None:
        invoke = await self.adapter.process_activity(identity, activity, self._on_turn)
        return (invoke.status, invoke.body) if invoke is not None else None

    async def post(self, context: TurnContext, fields: dict[str, Any]) -> None:
        await send_reply(context, fields)

    def refusal(self, error: Exception) -> SendFailed | None:
        return send_failed(error) if isinstance(error, HttpOperationError) else None

    async def answer_invoke(self, context: TurnContext) -> None:
        await context.send_activity(
            Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body={}))
        )

    async def member(self, context: TurnContext, user_id: str) -> tuple[str, str]:
        found = await TeamsInfo.get_member(context, user_id)
        return found.name or "", found.email or found.user_principal_name or ""

    async def team_channel_ids(self, context: TurnContext, team_id: str) -> list[str]:
        client = await TeamsInfo.get_teams_connector_client(context)
        # msrest's Teams operations are synchronous: keep them off the event loop.
        listed = await asyncio.to_thread(client.teams.get_teams_channels, team_id)
        return [c.id for c in listed.conversations or [] if c.id]

    def reference(self, activity: Activity) -> dict[str, Any]:
        return TurnContext.get_conversation_reference(activity).serialize()

    async def continue_conversation(self, reference: dict[str, Any], fields: dict[str, Any]) -> None:
        async def post(context: TurnContext) -> None:
            context.activity.id = None  # a new message, not a reply to the continuation event
            await context.send_activity(Activity().deserialize(fields))

        known = ConversationReference().deserialize(reference)
        await self.adapter.continue_conversation(known, post, bot_app_id=self.app_id)

    async def close(self, _: object = None) -> None:
        await self.clients.http.close()
