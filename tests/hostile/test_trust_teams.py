"""Nobody acts as a headteacher they are not through `/api/messages`.

The attack these stories close: an unsigned activity named its own serviceUrl, the bot asked that server for
the member's email, believed it, and so an outsider became the head of school 114000, read its EOI and
withdrew it. Now the route exists only when Teams is configured (an app id) or emulator mode is asked for by
name; emulator mode accepts loopback serviceUrls only; with an app id botbuilder checks the token and its
`serviceurl` claim, and the serviceUrl must be one of Microsoft's Bot Connector hosts; an optional tenant
allow-list turns other tenants away with 403, storing nothing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestServer
from botframework.connector.auth import jwt_token_extractor
from cryptography.hazmat.primitives.asymmetric import rsa
from microsoft_agents.hosting.core.authorization.jwt.jwt_token_validator import _JwkClientManager
from sqlalchemy import func, select

from bot import teams_trust
from bot.app import build_app
from bot.config import load_settings
from bot.service import Service, open_service
from storage.clock import Clock
from storage.models import EOI, AuditEntry, ConversationRef, Person, ProcessedEvent
from tests import conftest
from tests.conftest import OFFICER, make_settings
from tests.fakes import teams_activities as ta
from tests.fakes.bot_connector import FakeBotConnector

HEAD_EMAIL = "head114000@demo-school.example"
MALLORY = "29:mallory"
APP_ID = "3f2b6c1e-9a4d-4e7b-8c21-5d0f7a9b1c2e"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"  # the council's Directory (tenant) ID
MICROSOFT = "https://smba.trafficmanager.net/emea/"
ATTACKER = "https://attacker.invalid/"  # .invalid never resolves: no test can send traffic there


async def _service(test_db: conftest.TestDatabase, clock: Clock, **overrides: Any) -> Service:
    db = await test_db.create(demo_at=clock.now())
    return await open_service(make_settings(test_db.url, **overrides), clock=clock, db=db)


async def _served(service: Service) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    server = TestServer(build_app(service), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield http, str(server.make_url("/api/messages"))
    finally:
        await server.close()


async def _post(http: aiohttp.ClientSession, url: str, activity: dict[str, Any], **headers: str) -> int:
    async with http.post(url, json=activity, headers=headers) as response:
        return response.status


async def _stored(service: Service) -> dict[str, int]:
    async with service.db.session() as session:
        return {
            t.__tablename__: int(await session.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Person, EOI, AuditEntry, ConversationRef, ProcessedEvent)
        }


@pytest.fixture
async def mallorys_connector() -> AsyncIterator[FakeBotConnector]:
    """The outsider's own server, which says Mallory's email is the headteacher's."""
    async with FakeBotConnector() as fake:
        fake.add_member("*", MALLORY, HEAD_EMAIL, name="Mallory")
        yield fake


async def test_with_only_slack_configured_an_outsider_cannot_reach_teams_at_all(
    test_db: conftest.TestDatabase, clock: Clock, mallorys_connector: FakeBotConnector
) -> None:
    service = await _service(
        test_db, clock, teams_emulator=False, slack_bot_token="xoxb-test", slack_signing_secret="s" * 32
    )
    try:
        before = await _stored(service)
        async for http, url in _served(service):
            for text in ("status", "withdraw EOI-2627A-001 confirm"):
                activity = ta.message_activity(text, MALLORY, service_url=mallorys_connector.service_url)
                assert await _post(http, url, activity) == 404
        assert mallorys_connector.requests == []  # the bot never called the outsider's server
        assert await _stored(service) == before
    finally:
        await service.close()


def test_a_teams_bot_is_single_tenant_unless_told_otherwise_and_names_its_tenant() -> None:
    settings = load_settings({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TENANT_ID": TENANT})
    assert (settings.microsoft_app_type, settings.microsoft_app_tenant_id) == ("SingleTenant", TENANT)
    with pytest.raises(ValueError, match="MICROSOFT_APP_TENANT_ID must be the Directory") as refused:
        load_settings({"MICROSOFT_APP_ID": APP_ID})
    assert "MICROSOFT_APP_TYPE=MultiTenant" in str(refused.value)  # the way out for an older registration
    with pytest.raises(ValueError, match="not 'essex'"):
        load_settings(
            {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TYPE": "UserAssignedMSI", "MICROSOFT_APP_TENANT_ID": "essex"}
        )
    older = load_settings({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TYPE": "multitenant"})
    assert older.microsoft_app_type == "MultiTenant"
    with pytest.raises(ValueError, match="use SingleTenant"):
        load_settings({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TYPE": "Tenantless"})
    assert load_settings({}).microsoft_app_type == "SingleTenant"  # Teams off: nothing to name


def test_teams_is_off_unless_an_app_id_or_emulator_mode_is_set() -> None:
    assert not load_settings({}).teams_enabled
    assert load_settings({"EOI_TEAMS_EMULATOR": "1"}).teams_enabled
    assert load_settings({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TENANT_ID": TENANT}).teams_enabled
    with pytest.raises(ValueError, match="EOI_TEAMS_EMULATOR"):
        load_settings({"EOI_TEAMS_EMULATOR": "1", "MICROSOFT_APP_ID": APP_ID})
    with pytest.raises(ValueError, match="EOI_TEAMS_EMULATOR"):
        load_settings({"EOI_TEAMS_EMULATOR": "maybe"})
    tenants = load_settings({"EOI_TEAMS_TENANTS": " Tenant-A , tenant-b,"}).teams_tenants
    assert tenants == {"tenant-a", "tenant-b"}


async def test_emulator_mode_refuses_a_service_url_that_is_not_on_this_machine(
    test_db: conftest.TestDatabase, clock: Clock, teams_sdk: str
) -> None:
    service = await _service(test_db, clock, teams_sdk=teams_sdk)  # the tests' settings: emulator mode
    try:
        before = await _stored(service)
        async for http, url in _served(service):
            for elsewhere in (
                ATTACKER,
                "http://attacker.invalid:3978/",
                "file:///etc/passwd",
                "http://127.0.0.1.evil/",
            ):
                activity = ta.message_activity("status", MALLORY, service_url=elsewhere)
                assert await _post(http, url, activity) == 403, elsewhere
        assert await _stored(service) == before
    finally:
        await service.close()


@pytest.mark.parametrize(
    ("url", "emulator", "allowed"),
    [
        ("http://127.0.0.1:5000/", True, True),
        ("http://localhost:3978/", True, True),
        ("http://[::1]:3978/", True, True),
        ("http://127.8.9.10/", True, True),
        ("https://smba.trafficmanager.net/emea/", True, False),
        ("http://192.168.1.4/", True, False),
        ("https://smba.trafficmanager.net/emea/", False, True),
        ("https://smba.trafficmanager.net/teams/", False, True),
        ("https://smba.infra.gcc.teams.microsoft.com/gcc/", False, True),
        ("https://smba.infra.gov.teams.microsoft.us/teams", False, True),
        ("https://smba.infra.dod.teams.microsoft.us/dod", False, True),
        ("https://webchat.botframework.com/", False, True),
        ("http://smba.trafficmanager.net/emea/", False, False),  # not HTTPS
        ("https://smba.trafficmanager.net.attacker.invalid/", False, False),
        ("https://evilsmba.trafficmanager.net/", False, False),
        ("https://notbotframework.com/", False, False),
        ("http://127.0.0.1:5000/", False, False),
        ("", False, False),
    ],
)
def test_which_service_urls_the_bot_will_talk_to(url: str, emulator: bool, allowed: bool) -> None:
    assert teams_trust.service_url_allowed(url, emulator=emulator) is allowed


# ------------------------------------------------------------------------------ with an app id (production)
@pytest.fixture
def bot_framework_key(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Both SDKs validate tokens against the Bot Framework's published keys; here they get this test's
    key instead (no network), so a test can present a token that is correctly signed and examine the claims."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    async def published(self: Any, key_id: str) -> Any:
        return jwt_token_extractor._OpenIdConfig(key.public_key(), ["msteams"])

    async def signing_key(self: Any, jwks_uri: str, header: dict[str, Any]) -> Any:
        return key.public_key()

    monkeypatch.setattr(jwt_token_extractor._OpenIdMetadata, "get", published)
    # The Agents SDK's validator asks its JWKS client for the key the token's header names.
    monkeypatch.setattr(_JwkClientManager, "get_signing_key", signing_key)
    return key


def _token(key: Any, service_url: str) -> str:
    claims = {
        "iss": "https://api.botframework.com",
        "aud": APP_ID,
        "serviceurl": service_url,
        "nbf": int(time.time()) - 60,
        "exp": int(time.time()) + 600,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})


async def test_with_an_app_id_a_signed_token_must_name_this_service_url_and_a_microsoft_host(
    test_db: conftest.TestDatabase, clock: Clock, bot_framework_key: Any, teams_sdk: str
) -> None:
    service = await _service(
        test_db,
        clock,
        teams_sdk=teams_sdk,
        microsoft_app_id=APP_ID,
        microsoft_app_password="a-client-secret",
        microsoft_app_tenant_id=TENANT,
        teams_tenants=frozenset({"essex-tenant"}),
    )
    try:
        before = await _stored(service)
        async for http, url in _served(service):

            async def post(claimed: str, named: str, http: aiohttp.ClientSession = http, url: str = url) -> int:
                activity = ta.message_activity("status", MALLORY, service_url=named)
                bearer = f"Bearer {_token(bot_framework_key, claimed)}"
                return await _post(http, url, activity, Authorization=bearer)

            # The SDK's claim check, the first line: a token for one serviceUrl can't be used for another.
            assert await post(MICROSOFT, ATTACKER) == 401
            # The second line: a correctly signed token for a host that is not Microsoft's.
            assert await post(ATTACKER, ATTACKER) == 403
            # A good token for Microsoft's host from a tenant not on the allow-list: 403, and only because of
            # the tenant (so the token and host passed).
            assert await post(MICROSOFT, MICROSOFT) == 403
        assert await _stored(service) == before
    finally:
        await service.close()


# ------------------------------------------------------------------------------ tenants
async def test_a_tenant_not_on_the_allow_list_gets_403_and_nothing_is_stored(
    test_db: conftest.TestDatabase, clock: Clock, teams_sdk: str
) -> None:
    service = await _service(
        test_db,
        clock,
        teams_sdk=teams_sdk,
        officers=(OFFICER, ("msteams", "29:officer")),
        teams_tenants=frozenset({ta.TENANT_ID.lower()}),
    )
    try:
        async with FakeBotConnector() as connector:
            connector.add_member("*", "29:officer", "officer@essex.example", name="Olu Officer")
            before = await _stored(service)
            async for http, url in _served(service):
                foreign = ta.message_activity(
                    "help", "29:officer", service_url=connector.service_url, tenant_id="other"
                )
                foreign["channelData"]["tenant"]["id"] = "other"
                assert await _post(http, url, foreign) == 403
                assert connector.requests == []
                assert await _stored(service) == before
                # The council's own tenant is served as before.
                ours = ta.message_activity("help", "29:officer", service_url=connector.service_url)
                assert await _post(http, url, ours) == 200
                texts = await connector.wait_for(1)
            assert texts and any("Officer commands" in str(a) for a in texts)
    finally:
        await service.close()
