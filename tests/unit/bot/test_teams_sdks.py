"""EOI_TEAMS_SDK: which Microsoft SDK serves Teams, and how our settings become the Agents SDK's "connections"
configuration (the stories themselves run on both SDKs: the `teams_sdk` fixture)."""

from __future__ import annotations

import pytest
from microsoft_agents.authentication.msal import MsalConnectionManager

from bot.app import channel_summary
from bot.config import load_settings
from bot.teams_agents import connections

APP_ID = "3f2b6c1e-9a4d-4e7b-8c21-5d0f7a9b1c2e"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def test_botbuilder_serves_teams_unless_the_agents_sdk_is_asked_for_and_anything_else_is_refused() -> None:
    assert load_settings({}).teams_sdk == "botbuilder"
    assert load_settings({"EOI_TEAMS_SDK": " Agents "}).teams_sdk == "agents"
    with pytest.raises(ValueError, match="EOI_TEAMS_SDK='teams-ai'"):
        load_settings({"EOI_TEAMS_SDK": "teams-ai"})
    banner = channel_summary(load_settings({"EOI_TEAMS_SDK": "agents", "EOI_TEAMS_EMULATOR": "1"}))
    assert any("Microsoft 365 Agents SDK" in line for line in banner)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"MICROSOFT_APP_PASSWORD": "secret", "MICROSOFT_APP_TENANT_ID": TENANT},
            {"AUTHTYPE": "ClientSecret", "CLIENTID": APP_ID, "CLIENTSECRET": "secret", "TENANTID": TENANT},
        ),
        (
            {"MICROSOFT_APP_TYPE": "MultiTenant", "MICROSOFT_APP_PASSWORD": "secret"},
            {"AUTHTYPE": "ClientSecret", "CLIENTID": APP_ID, "CLIENTSECRET": "secret", "TENANTID": "botframework.com"},
        ),
        (
            {"MICROSOFT_APP_TYPE": "UserAssignedMSI", "MICROSOFT_APP_TENANT_ID": TENANT},
            {"AUTHTYPE": "UserManagedIdentity", "CLIENTID": APP_ID, "TENANTID": TENANT},
        ),
    ],
    ids=["single tenant", "multi-tenant", "managed identity"],
)
def test_each_kind_of_azure_bot_becomes_the_agents_sdks_connection(env: dict[str, str], expected: dict) -> None:
    settings = load_settings({"MICROSOFT_APP_ID": APP_ID, "EOI_TEAMS_SDK": "agents", **env})
    made = connections(settings, emulator=False)
    # Issuers are checked as botbuilder checks them, which the SDK does only when asked.
    assert made["CONNECTIONS"]["SERVICE_CONNECTION"]["SETTINGS"] == {**expected, "VALIDATE_ISSUER": "true"}
    config = MsalConnectionManager(**made).get_default_connection_configuration()
    tenant = expected["TENANTID"]
    assert APP_ID == config.CLIENT_ID and tenant == config.TENANT_ID and config.VALIDATE_ISSUER
    assert not config.ANONYMOUS_ALLOWED


def test_emulator_mode_is_the_agents_sdks_anonymous_connection_and_nothing_more() -> None:
    made = connections(load_settings({"EOI_TEAMS_EMULATOR": "1"}), emulator=True)
    assert made == {"CONNECTIONS": {"SERVICE_CONNECTION": {"SETTINGS": {"ANONYMOUS_ALLOWED": "true"}}}}
    assert MsalConnectionManager(**made).get_default_connection_configuration().ANONYMOUS_ALLOWED
