"""Quick checks that the fake Slack and Bot Framework servers behave like the real ones."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import aiohttp
import pytest
import pytest_asyncio
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters
from botframework.connector import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import slack_requests as sr
from tests.fakes import teams_activities as ta
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_web_api import FakeSlackWebApi


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[FakeSlackWebApi]:
    fake = FakeSlackWebApi()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    fake = FakeBotConnector()
    await fake.start()
    yield fake
    await fake.stop()


# ---------------------------------------------------------------------- Slack Web API
@pytest.mark.asyncio
async def test_slack_post_message_is_recorded(slack: FakeSlackWebApi) -> None:
    assert slack.base_url.startswith("http://127.0.0.1:") and slack.base_url.endswith("/")
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    auth = await client.auth_test()
    assert auth["user_id"] == slack.bot_user_id
    first = await client.chat_postMessage(channel="C123", text="hello", blocks=[{"type": "divider"}])
    second = await client.chat_postMessage(channel="U999", text="dm")
    assert first["ok"] and first["channel"] == "C123" and first["message"]["text"] == "hello"
    assert float(second["ts"]) > float(first["ts"])
    assert second["channel"] == "DU999"
    calls = await slack.wait_for("chat.postMessage", 2)
    assert calls[0]["text"] == "hello" and calls[0]["blocks"] == [{"type": "divider"}]
    assert slack.recorded("chat.postMessage")[0].headers["Authorization"] == "Bearer xoxb-test"
    updated = await client.chat_update(channel="C123", ts=first["ts"], text="edited")
    assert updated["message"]["text"] == "edited"


@pytest.mark.asyncio
async def test_slack_users_conversations_and_views(slack: FakeSlackWebApi) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    slack.add_user("U1", "head@school.example", "Pat Head")
    info = await client.users_info(user="U1")
    assert info["user"]["profile"]["email"] == "head@school.example"
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"
    opened = await client.conversations_open(users="U1")
    assert opened["channel"]["id"] == "DU1"
    modal = {"type": "modal", "callback_id": "eoi", "blocks": []}
    view = await client.views_open(trigger_id="t.1", view=modal)
    assert view["view"]["id"].startswith("V")
    assert slack.calls_to("views.open")[0]["view"]["callback_id"] == "eoi"
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="x", blocks=too_many)
    assert err.value.response["error"] == "invalid_blocks"


@pytest.mark.asyncio
async def test_slack_file_upload_v2_is_shared_in_the_channel(slack: FakeSlackWebApi) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    await client.files_upload_v2(channel="DU1", filename="a.csv", content="ref\nEOI-1\n", initial_comment="Here")
    [shared] = slack.shared_files("DU1")
    assert (shared["name"], shared["content"], shared["initial_comment"]) == ("a.csv", "ref\nEOI-1\n", "Here")


@pytest.mark.asyncio
async def test_slack_refuses_a_method_whose_scope_the_manifest_does_not_ask_for(slack: FakeSlackWebApi) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel="C1", timestamp="1.000001", name="tada")
    assert err.value.response["error"] == "missing_scope" and err.value.response["needed"] == "reactions:write"


@pytest.mark.asyncio
async def test_slack_requires_bearer_token(slack: FakeSlackWebApi) -> None:
    url = slack.base_url + "chat.postMessage"
    async with aiohttp.ClientSession() as session, session.post(url, json={"channel": "C1"}) as resp:
        assert resp.status == 200
        assert await resp.json() == {"ok": False, "error": "not_authed"}


@pytest.mark.asyncio
async def test_slack_injected_429_raises_without_retry_handler(slack: FakeSlackWebApi) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "0"
    # The failure is used up: the next call goes through.
    assert (await client.chat_postMessage(channel="C1", text="hi"))["ok"]


@pytest.mark.asyncio
async def test_slack_injected_429_is_retried_with_handler(slack: FakeSlackWebApi) -> None:
    client = AsyncWebClient(
        token="xoxb-test",
        base_url=slack.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    resp = await client.chat_postMessage(channel="C1", text="hi")
    assert resp["ok"]
    assert [c.status for c in slack.recorded("chat.postMessage")] == [429, 200]
    assert len(slack.calls_to("chat.postMessage", ok_only=True)) == 1


@pytest.mark.asyncio
async def test_slack_500_and_channel_rate_limit(slack: FakeSlackWebApi) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    slack.fail_next("chat.postMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C1", text="x")
        assert err.value.response.status_code == 500
    slack.enforce_rate_limit(per_channel_seconds=1.0)
    assert (await client.chat_postMessage(channel="C1", text="a"))["ok"]
    assert (await client.chat_postMessage(channel="C2", text="b"))["ok"]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="c")
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1


@pytest.mark.asyncio
async def test_slack_random_429_is_seeded(slack: FakeSlackWebApi) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)

    async def outcome() -> list[int]:
        statuses = []
        for i in range(20):
            try:
                await client.chat_postMessage(channel=f"C{i}", text="x")
                statuses.append(200)
            except SlackApiError as e:
                statuses.append(e.response.status_code)
        return statuses

    slack.random_429_fraction(0.3, seed=7)
    first = await outcome()
    slack.random_429_fraction(0.3, seed=7)
    assert await outcome() == first
    assert 0 < first.count(429) < 20


@pytest.mark.asyncio
async def test_slack_response_url_records_posts(slack: FakeSlackWebApi) -> None:
    url = slack.response_url("cmd1")
    body = {"text": "Working on it", "response_type": "ephemeral"}
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        assert resp.status == 200
    assert (await slack.wait_for_response("cmd1"))[0]["text"] == "Working on it"


# ---------------------------------------------------------------------- Slack requests
def test_signed_headers_verify_with_slack_sdk() -> None:
    body = sr.slash_command_body("start", "U1", response_url="http://x/response/a")
    headers = sr.signed_headers("s3cret", body)
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sr.signed_headers("s3cret", body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    assert fields["command"] == "/eoi" and fields["text"] == "start"
    assert fields["channel_name"] == "directmessage" and fields["is_enterprise_install"] == "false"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_slack_payload_shapes() -> None:
    event = json.loads(sr.message_im_event_body("U1", "hello", event_id="Ev1"))
    assert event["type"] == "event_callback" and event["event_id"] == "Ev1"
    assert event["event"]["channel_type"] == "im" and event["event"]["channel"] == "DU1"
    assert sr.signed_headers("s", json.dumps(event))["Content-Type"] == "application/json"
    action = json.loads(parse_qs(sr.block_actions_body("U1", "eoi_submit", "42"))["payload"][0])
    assert action["type"] == "block_actions" and action["actions"][0]["value"] == "42"
    assert action["container"]["type"] == "message"
    view = json.loads(
        parse_qs(sr.view_submission_body("U1", "eoi_form", {"b1": {"a1": "typed"}}, "meta"))["payload"][0]
    )
    assert view["view"]["state"]["values"] == {"b1": {"a1": {"type": "plain_text_input", "value": "typed"}}}
    assert view["view"]["private_metadata"] == "meta"


# ---------------------------------------------------------------------- Bot connector
@pytest.mark.asyncio
async def test_connector_records_activity_and_injects_429(connector: FakeBotConnector) -> None:
    assert connector.service_url.endswith("/")
    url = f"{connector.service_url}v3/conversations/a%3A1abc/activities/1700"
    card = {"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard"}}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": "message", "text": "hi", "attachments": [card]}) as resp:
            assert resp.status == 200
            new_id = (await resp.json())["id"]
        connector.fail_next(status=429, retry_after=1)
        async with session.post(url, json={"type": "message", "text": "again"}) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "1"
            assert (await resp.json())["error"]["code"] == "Throttled"
        connector.fail_next(status=502)
        async with session.post(url, json={"type": "message", "text": "again"}) as resp:
            assert resp.status == 502
    [activity] = await connector.wait_for(1)
    assert activity["conversation_id"] == "a:1abc" and activity["reply_to_id"] == "1700"
    assert activity["activity_id"] == new_id and activity["attachments"] == [card]
    assert [r["status"] for r in connector.requests] == [200, 429, 502]


@pytest.mark.asyncio
async def test_connector_works_with_botframework_client(connector: FakeBotConnector) -> None:
    connector.add_member("*", "29:1user", "head@school.example", "head@school.example", "Pat Head")
    msg = ta.message_activity("hello", "29:1user", "Pat Head", service_url=connector.service_url)
    channel_msg = ta.message_activity("help", "29:1user", conversation_type="channel")
    assert channel_msg["text"].startswith("<at>EOI Bot</at>")
    assert channel_msg["entities"][0]["type"] == "mention"

    def use_sdk() -> tuple[str, str, str]:
        client = ConnectorClient(MicrosoftAppCredentials("", ""), base_url=connector.service_url)
        conv_id = msg["conversation"]["id"]
        reply = client.conversations.reply_to_activity(conv_id, msg["id"], Activity(type="message", text="hi back"))
        member = client.conversations.get_conversation_member(conv_id, "29:1user")
        created = client.conversations.create_conversation(
            ConversationParameters(
                is_group=False,
                bot=ChannelAccount(id=ta.BOT_ID),
                members=[ChannelAccount(id="29:1user")],
                tenant_id=ta.TENANT_ID,
            )
        )
        client.conversations.send_to_conversation(created.id, Activity(type="message", text="proactive"))
        return reply.id, member.additional_properties.get("email", ""), created.id

    reply_id, email, new_conv = await asyncio.to_thread(use_sdk)
    assert email == "head@school.example"
    activities = await connector.wait_for(2)
    assert activities[0]["conversation_id"] == msg["conversation"]["id"]
    assert activities[0]["reply_to_id"] == msg["id"] and activities[0]["activity_id"] == reply_id
    assert activities[1]["conversation_id"] == new_conv and activities[1]["text"] == "proactive"
    assert connector.texts() == ["hi back", "proactive"]


@pytest.mark.asyncio
async def test_listeners_hear_each_answered_call_and_delivered_activity(
    slack: FakeSlackWebApi, connector: FakeBotConnector
) -> None:
    heard: list[tuple[str, int]] = []
    slack.listeners.append(lambda call: heard.append((call.method, call.status)))
    slack.fail_next("chat.postMessage", status=429)
    client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C1", text="first")
    await client.chat_postMessage(channel="C1", text="second")
    assert heard == [("chat.postMessage", 429), ("chat.postMessage", 200)]

    delivered: list[str] = []
    connector.listeners.append(lambda activity: delivered.append(activity["text"]))
    url = f"{connector.service_url}v3/conversations/a%3A1abc/activities/1700"
    async with aiohttp.ClientSession() as session, session.post(url, json={"type": "message", "text": "hi"}) as resp:
        assert resp.status == 200
    assert delivered == ["hi"]
