"""Microsoft Teams on the Microsoft 365 Agents SDK (EOI_TEAMS_SDK=agents): botbuilder's supported successor, for
the same route, cards and rules (bot.teams_channel). Only the SDK's calls are here.

    bot.teams_channel.handle -> AgentsTeams.authenticate (the SDK's JwtTokenValidator)
        -> CloudAdapter.process_activity -> TeamsChannel._on_turn -> TurnContext.send_activity

Credentials come from the same settings as botbuilder's (MICROSOFT_APP_*), given to the SDK as its "connections"
configuration: SingleTenant and MultiTenant with a client secret, UserAssignedMSI with the managed identity's
client id, and emulator mode as the SDK's anonymous connection. The SDK's Teams extension
(microsoft-agents-hosting-msteams) is not used: it needs an AgentApplication router, and its connector client
always asks for a token; the core connector client does what is asked of Teams here (members, channels).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from microsoft_agents.activity import Activity, ConversationReference, InvokeResponse
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ClaimsIdentity, ConnectorClientBase, TurnContext
from microsoft_agents.hosting.core.authorization import JwtTokenValidator

from bot.config import Settings
from bot.delivery import SendFailed
from bot.service import Service
from bot.teams_channel import TeamsChannel, send_failed

log = logging.getLogger("eoi-bot.teams")

# The SDK's default tenant for a multi-tenant bot's tokens (botbuilder's DEFAULT_CHANNEL_AUTH_TENANT).
MULTI_TENANT_AUTHORITY = "botframework.com"


def connections(settings: Settings, *, emulator: bool) -> dict[str, Any]:
    """The SDK's configuration (what CONNECTIONS__SERVICE_CONNECTION__SETTINGS__* would say) from ours."""
    if emulator:
        found: dict[str, str] = {"ANONYMOUS_ALLOWED": "true"}
    elif settings.microsoft_app_type == "UserAssignedMSI":
        found = {
            "AUTHTYPE": "UserManagedIdentity",
            "CLIENTID": settings.microsoft_app_id,
            "TENANTID": settings.microsoft_app_tenant_id,
        }
    else:
        found = {
            "AUTHTYPE": "ClientSecret",
            "CLIENTID": settings.microsoft_app_id,
            "CLIENTSECRET": settings.microsoft_app_password,
            "TENANTID": settings.microsoft_app_tenant_id
            if settings.microsoft_app_type == "SingleTenant"
            else MULTI_TENANT_AUTHORITY,
        }
    if not emulator:
        # Checked by botbuilder always, by the SDK when asked: the token's issuer is one it accepts for the bot.
        found["VALIDATE_ISSUER"] = "true"
    return {"CONNECTIONS": {"SERVICE_CONNECTION": {"SETTINGS": found}}}


def _reference_for_sdk(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored reference as the SDK reads it: botbuilder 4.17 wrote a conversation's tenant as "tenantID"."""
    conversation = dict(stored.get("conversation") or {})
    if "tenantID" in conversation:
        conversation.setdefault("tenantId", conversation.pop("tenantID"))
    return {**stored, "conversation": conversation}


class AgentsTeams(TeamsChannel):
    sdk = "agents"

    def __init__(self, service: Service) -> None:
        super().__init__(service)
        self.connections = MsalConnectionManager(**connections(service.settings, emulator=self.emulator))
        self.validator = JwtTokenValidator(self.connections.get_default_connection_configuration())
        self.adapter = CloudAdapter(connection_manager=self.connections)
        self.adapter.on_turn_error = self._turn_error  # the SDK's own tells the user the exception's text
        # The SDK says at INFO what it does with every activity and reply (several lines a turn, a good part of a
        # turn's CPU): its warnings and errors are what an operator needs. It logs each refusal of the connector
        # (a 429, a 502) at ERROR and then raises it to us; what to do about it (wait, try again, give up and tell
        # the officers) is ours, and logged as such.
        logging.getLogger("microsoft_agents").setLevel(max(logging.WARNING, logging.getLogger().level))
        logging.getLogger("microsoft_agents.hosting.core.connector").setLevel(logging.CRITICAL)
        if self.emulator:  # "App ID is not provided", every turn: an emulator has none, by design
            logging.getLogger("microsoft_agents.hosting.core.connector.client.user_token_client").setLevel(
                logging.ERROR
            )

    @staticmethod
    async def _turn_error(context: TurnContext, error: Exception) -> None:
        log.error("Teams turn failed in the Agents SDK (%s): %s", context.activity.type, str(error)[:300])

    def parse(self, body: dict[str, Any]) -> Activity:
        return Activity.model_validate(body)

    async def authenticate(self, activity: Activity, header: str | None) -> ClaimsIdentity:
        if not header:
            if not self.emulator:
                raise PermissionError("no token")
            return self.validator.get_anonymous_claims()
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PermissionError("not a bearer token")
        identity = await self.validator.validate_token(token.strip())
        # As botbuilder does: the token names the serviceUrl it was issued for, and it must be this activity's
        # (the SDK itself only logs a mismatch unless its outbound host check is on).
        if identity.get_claim_value("serviceurl") != activity.service_url:
            raise PermissionError("the token's serviceurl claim is not the activity's serviceUrl")
        return identity

    async def process(self, identity: ClaimsIdentity, activity: Activity) -> tuple[int, Any] | None:
        invoke = await self.adapter.process_activity(identity, activity, self._on_turn)
        return (int(invoke.status), invoke.body) if invoke is not None else None

    async def post(self, context: TurnContext, fields: dict[str, Any]) -> None:
        await context.send_activity(Activity.model_validate(fields))

    def refusal(self, error: Exception) -> SendFailed | None:
        return send_failed(error) if isinstance(error, aiohttp.ClientResponseError) else None

    async def answer_invoke(self, context: TurnContext) -> None:
        await context.send_activity(Activity(type="invokeResponse", value=InvokeResponse(status=200, body={})))

    @staticmethod
    def _connector(context: TurnContext) -> Any:
        client = context.services.get(ConnectorClientBase)
        if client is None:
            raise LookupError("no connector client in this turn")
        return client

    async def member(self, context: TurnContext, user_id: str) -> tuple[str, str]:
        found = await self._connector(context).get_conversation_member(context.activity.conversation.id, user_id)
        return found.name or "", found.email or found.user_principal_name or ""

    async def team_channel_ids(self, context: TurnContext, team_id: str) -> list[str]:
        return [c.id for c in await self._connector(context).fetch_channel_list(team_id) if c.id]

    def reference(self, activity: Activity) -> dict[str, Any]:
        made = activity.get_conversation_reference()
        return made.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"request_id"})

    async def continue_conversation(self, reference: dict[str, Any], fields: dict[str, Any]) -> None:
        known = ConversationReference.model_validate(_reference_for_sdk(reference))

        failed: list[Exception] = []

        async def post(context: TurnContext) -> None:
            context.activity.id = None  # a new message, not a reply to the continuation event
            try:
                await context.send_activity(Activity.model_validate(fields))
            except Exception as error:  # the adapter would hand it to on_turn_error: the dispatcher must see it
                failed.append(error)

        continuation = known.get_continuation_activity()
        if self.emulator:
            # No app, no token: the SDK's continue_conversation(app_id, ...) would ask MSAL for one.
            await self.adapter.continue_conversation_with_claims(
                self.validator.get_anonymous_claims(), continuation, post
            )
        else:
            await self.adapter.continue_conversation(self.app_id, continuation, post)
        if failed:
            raise failed[0]

    async def close(self, _: object = None) -> None:
        """Nothing to close: the SDK makes its connector's HTTP session per turn and closes it after."""
