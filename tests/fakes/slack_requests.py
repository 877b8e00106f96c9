"""Build requests exactly as Slack sends them to ``POST /slack/events``, and sign them.

Shapes follow Slack's documented payloads and the examples in slack-bolt's own tests:
slash commands and interactivity are ``application/x-www-form-urlencoded`` (interactivity
as a single ``payload=<json>`` field); Events API requests are ``application/json``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

JsonDict = dict[str, Any]

TEAM_ID = "T0001"
TEAM_DOMAIN = "eoi-test"
APP_ID = "A0EOIBOT1"
BOT_USER_ID = "U0BOT0001"
VERIFICATION_TOKEN = "legacy-verification-token"
SLASH_COMMAND = "/eoi"

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

_counter = itertools.count(1)


def _seq() -> int:
    return next(_counter)


def _now_ts() -> str:
    """A message ts as Slack formats it: seconds, a dot, six digits."""
    return f"{int(time.time())}.{_seq():06d}"


def _trigger_id() -> str:
    return f"{int(time.time() * 1000)}{_seq()}.{TEAM_ID[1:]}000.{uuid.uuid4().hex}"


def sign(secret: str, body: str, timestamp: int) -> str:
    """The ``X-Slack-Signature`` value: ``v0=`` + hex HMAC-SHA256 of ``v0:{ts}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: str,
    timestamp: int | None = None,
    *,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """Headers Slack sends with ``body``: signature, timestamp, content type (guessed).

    ``retry_num`` adds ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason`` as on an event redelivery.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    if content_type is None:
        content_type = JSON_CONTENT_TYPE if body.lstrip().startswith("{") else FORM_CONTENT_TYPE
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, body, ts),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


# ---------------------------------------------------------------------- slash commands
def slash_command_body(
    text: str,
    user_id: str,
    team_id: str = TEAM_ID,
    channel_id: str | None = None,
    response_url: str = "https://hooks.slack.com/commands/T0001/1234567890/abcdefABCDEF",
    trigger_id: str | None = None,
    *,
    command: str = SLASH_COMMAND,
    user_name: str | None = None,
    channel_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> str:
    """A form-encoded slash command body, fields in the order Slack sends them.

    Without ``channel_id`` the command is typed in the user's DM with the app
    (``channel_name`` ``directmessage``).
    """
    if channel_id is None:
        channel_id = "D" + user_id
    if channel_name is None:
        channel_name = (
            "directmessage"
            if channel_id.startswith("D")
            else ("privategroup" if channel_id.startswith("G") else "general")
        )
    fields = [
        ("token", token),
        ("team_id", team_id),
        ("team_domain", team_domain),
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id or _trigger_id()),
    ]
    return urlencode(fields)


# ---------------------------------------------------------------------- Events API
def _event_callback(
    event: JsonDict,
    *,
    team_id: str,
    event_id: str | None,
    event_time: int | None,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
) -> str:
    body: JsonDict = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{int(time.time())}{_seq():06d}",
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }
    return json.dumps(body)


def rich_text_blocks(text: str) -> list[JsonDict]:
    """The ``rich_text`` block Slack clients attach to a typed message."""
    return [
        {
            "type": "rich_text",
            "block_id": uuid.uuid4().hex[:5],
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]


def message_im_event_body(
    user: str,
    text: str,
    channel: str | None = None,
    event_id: str | None = None,
    ts: str | None = None,
    *,
    team_id: str = TEAM_ID,
    thread_ts: str | None = None,
    event_time: int | None = None,
) -> str:
    """JSON ``event_callback`` carrying a ``message`` event a user typed in the app's DM."""
    ts = ts or _now_ts()
    event: JsonDict = {
        "user": user,
        "type": "message",
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "team": team_id,
        "blocks": rich_text_blocks(text),
        "channel": channel or "D" + user,
        "event_ts": ts,
        "channel_type": "im",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = BOT_USER_ID
    return _event_callback(event, team_id=team_id, event_id=event_id, event_time=event_time)


def app_mention_event_body(
    user: str,
    text: str,
    channel: str,
    event_id: str | None = None,
    ts: str | None = None,
    *,
    team_id: str = TEAM_ID,
) -> str:
    """JSON ``event_callback`` with an ``app_mention`` (text starts ``<@BOT>``)."""
    ts = ts or _now_ts()
    full = f"<@{BOT_USER_ID}> {text}"
    event: JsonDict = {
        "user": user,
        "type": "app_mention",
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "text": full,
        "team": team_id,
        "blocks": rich_text_blocks(full),
        "channel": channel,
        "event_ts": ts,
    }
    return _event_callback(event, team_id=team_id, event_id=event_id, event_time=None)


def app_home_opened_body(
    user: str,
    channel: str | None = None,
    tab: str = "home",
    event_id: str | None = None,
    *,
    team_id: str = TEAM_ID,
    view: JsonDict | None = None,
) -> str:
    """JSON ``event_callback`` for ``app_home_opened``.

    Slack includes ``view`` only when a Home view was published for this user before.
    """
    event: JsonDict = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel or "D" + user,
        "tab": tab,
        "event_ts": _now_ts(),
    }
    if view is not None:
        event["view"] = view
    return _event_callback(event, team_id=team_id, event_id=event_id, event_time=None)


def url_verification_body(challenge: str) -> str:
    """The JSON handshake Slack sends when the Request URL is saved."""
    return json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"})


# ---------------------------------------------------------------------- interactivity
def _payload_body(payload: JsonDict) -> str:
    return "payload=" + quote(json.dumps(payload))


def _user(user_id: str, team_id: str) -> JsonDict:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def _team(team_id: str) -> JsonDict:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def block_actions_body(
    user_id: str,
    action_id: str,
    value: str | None = None,
    block_id: str = "actions",
    channel_id: str | None = None,
    message_ts: str | None = None,
    trigger_id: str | None = None,
    response_url: str = "https://hooks.slack.com/actions/T0001/1234567890/abcdefABCDEF",
    *,
    team_id: str = TEAM_ID,
    action_type: str = "button",
    button_text: str = "Button",
    selected_option: JsonDict | None = None,
    message: JsonDict | None = None,
    state_values: JsonDict | None = None,
) -> str:
    """Form-encoded ``payload=`` for a ``block_actions`` click on a message button.

    For ``static_select`` pass ``action_type="static_select"`` and ``selected_option``
    (``{"text": {...}, "value": ...}``); Slack then sends no ``value`` on the action.
    """
    channel_id = channel_id or "D" + user_id
    message_ts = message_ts or _now_ts()
    action: JsonDict = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{time.time():.6f}",
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": button_text, "emoji": True}
        if value is not None:
            action["value"] = value
    elif selected_option is not None:
        action["selected_option"] = selected_option
    elif value is not None:
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": value, "emoji": True},
            "value": value,
        }
    payload: JsonDict = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or _trigger_id(),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {
            "id": channel_id,
            "name": "directmessage" if channel_id.startswith("D") else "general",
        },
        "message": message
        or {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": message_ts,
            "bot_id": "B0BOT0001",
            "app_id": APP_ID,
            "text": "",
            "team": team_id,
            "blocks": [],
        },
        "state": {"values": state_values or {}},
        "response_url": response_url,
        "actions": [action],
    }
    return _payload_body(payload)


def view_state_values(values: JsonDict) -> JsonDict:
    """Turn ``{block_id: {action_id: value}}`` into Slack's ``view.state.values`` shape.

    A str becomes a ``plain_text_input``; a dict is taken as the full element state
    (e.g. ``{"type": "static_select", "selected_option": {...}}``).
    """
    out: JsonDict = {}
    for block_id, actions in values.items():
        out[block_id] = {}
        for action_id, value in actions.items():
            if isinstance(value, dict):
                out[block_id][action_id] = value
            else:
                out[block_id][action_id] = {"type": "plain_text_input", "value": value}
    return out


def view_submission_body(
    user_id: str,
    callback_id: str,
    values: JsonDict,
    private_metadata: str = "",
    *,
    team_id: str = TEAM_ID,
    view_id: str = "V0000000001",
    blocks: list[JsonDict] | None = None,
    response_urls: list[JsonDict] | None = None,
) -> str:
    """Form-encoded ``payload=`` for a modal ``view_submission``.

    ``values`` is ``{block_id: {action_id: "typed text" | element_state_dict}}``.
    """
    payload: JsonDict = {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": view_state_values(values)},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": {"type": "plain_text", "text": "EOI", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": "B0BOT0001",
        },
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_body(payload)
