"""Build activities as Microsoft Teams sends them to a bot's ``POST /api/messages``.

Shapes follow the Teams docs' schema examples: ``channelId`` ``msteams``, user ids
``29:...``, bot id ``28:<app id>``, personal conversation ids ``a:...``, team/channel ids
``19:...@thread.tacv2``, tenant in both ``conversation.tenantId`` and ``channelData.tenant``.
"""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]

BOT_ID = "28:bot-app-id"
BOT_NAME = "EOI Bot"
TENANT_ID = "72f988bf-0000-4000-8000-2d7cd011db47"
TEAM_ID = "19:eoiteam0000000000000000000000@thread.tacv2"
CHANNEL_ID = "19:eoichannel000000000000000000@thread.tacv2"
SERVICE_URL = "https://smba.trafficmanager.net/uk/"

_counter = itertools.count(1)


def _activity_id() -> str:
    # Teams message ids are epoch milliseconds as a string.
    return str(int(time.time() * 1000) + next(_counter))


def _timestamps() -> tuple[str, str]:
    now = datetime.now(UTC)
    utc = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    local = now.astimezone().isoformat(timespec="milliseconds")
    return utc, local


def personal_conversation_id(user_id: str) -> str:
    """A stable personal (1:1) conversation id for a user, in Teams' ``a:`` form."""
    return "a:1" + uuid.uuid5(uuid.NAMESPACE_URL, user_id).hex


def _client_info() -> JsonDict:
    return {
        "type": "clientInfo",
        "locale": "en-GB",
        "country": "GB",
        "platform": "Web",
        "timezone": "Europe/London",
    }


def _conversation(conversation_type: str, conversation_id: str, tenant_id: str, name: str | None = None) -> JsonDict:
    conv: JsonDict = {"conversationType": conversation_type, "tenantId": tenant_id, "id": conversation_id}
    if conversation_type != "personal":
        conv["isGroup"] = True
    if name:
        conv["name"] = name
    return conv


def _channel_data(conversation_type: str, tenant_id: str, team_id: str, channel_id: str) -> JsonDict:
    data: JsonDict = {"tenant": {"id": tenant_id}}
    if conversation_type == "channel":
        data.update(
            {
                "teamsTeamId": team_id,
                "teamsChannelId": channel_id,
                "team": {"id": team_id},
                "channel": {"id": channel_id},
            }
        )
    return data


def mention_entity(member_id: str = BOT_ID, name: str = BOT_NAME) -> JsonDict:
    """The ``mention`` entity Teams adds for an ``<at>name</at>`` in the text."""
    return {"type": "mention", "mentioned": {"id": member_id, "name": name}, "text": f"<at>{name}</at>"}


def message_activity(
    text: str | None,
    from_id: str,
    from_name: str = "Test User",
    aad_object_id: str | None = None,
    conversation_id: str | None = None,
    service_url: str = SERVICE_URL,
    conversation_type: str = "personal",
    tenant_id: str = TENANT_ID,
    value: JsonDict | None = None,
    activity_id: str | None = None,
    mentions: list[JsonDict] | None = None,
    *,
    team_id: str = TEAM_ID,
    channel_id: str = CHANNEL_ID,
    reply_to_id: str | None = None,
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
) -> JsonDict:
    """A ``message`` activity from a user.

    ``conversation_type`` is ``personal`` (1:1), ``groupChat`` or ``channel``. For a channel
    message the text is prefixed with ``<at>EOI Bot</at>`` and a bot ``mention`` entity is
    added (Teams only delivers channel messages that @mention the bot); the conversation id
    is the channel id plus ``;messageid=<root>``.
    """
    activity_id = activity_id or _activity_id()
    if conversation_id is None:
        if conversation_type == "personal":
            conversation_id = personal_conversation_id(from_id)
        elif conversation_type == "channel":
            conversation_id = f"{channel_id};messageid={activity_id}"
        else:
            conversation_id = "19:" + uuid.uuid5(uuid.NAMESPACE_URL, from_id).hex + "@thread.v2"
    entities: list[JsonDict] = []
    if conversation_type != "personal" and text is not None and mentions is None:
        if f"<at>{bot_name}</at>" not in text:
            text = f"<at>{bot_name}</at> {text}"
        entities.append(mention_entity(bot_id, bot_name))
    entities.extend(mentions or [])
    entities.append(_client_info())
    utc, local = _timestamps()
    activity: JsonDict = {
        "type": "message",
        "id": activity_id,
        "timestamp": utc,
        "localTimestamp": local,
        "localTimezone": "Europe/London",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {
            "id": from_id,
            "name": from_name,
            "aadObjectId": aad_object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, from_id)),
        },
        "conversation": _conversation(conversation_type, conversation_id, tenant_id),
        "recipient": {"id": bot_id, "name": bot_name},
        "entities": entities,
        "channelData": _channel_data(conversation_type, tenant_id, team_id, channel_id),
        "locale": "en-GB",
    }
    if text is not None:
        activity["text"] = text
        activity["textFormat"] = "plain"
        activity["attachments"] = [{"contentType": "text/html", "content": f"<p>{text}</p>"}]
    if value is not None:
        activity["value"] = value
    if reply_to_id is not None:
        activity["replyToId"] = reply_to_id
    return activity


def card_submit_activity(
    value: JsonDict,
    from_id: str,
    from_name: str = "Test User",
    aad_object_id: str | None = None,
    conversation_id: str | None = None,
    service_url: str = SERVICE_URL,
    conversation_type: str = "personal",
    tenant_id: str = TENANT_ID,
    reply_to_id: str | None = None,
    activity_id: str | None = None,
    **kwargs: Any,
) -> JsonDict:
    """What an Adaptive Card ``Action.Submit`` sends: a ``message`` with ``value``, no text.

    ``value`` is the action's ``data`` merged with the card's input values (by input id).
    ``replyToId`` is the id of the message holding the card.
    """
    reply_to_id = reply_to_id or _activity_id()
    activity = message_activity(
        None,
        from_id,
        from_name,
        aad_object_id,
        conversation_id,
        service_url,
        conversation_type,
        tenant_id,
        value=value,
        activity_id=activity_id,
        reply_to_id=reply_to_id,
        **kwargs,
    )
    activity["channelData"]["source"] = {"name": "message"}
    activity["channelData"]["legacy"] = {"replyToId": reply_to_id}
    return activity


def file_consent_invoke(
    value: JsonDict,
    from_id: str,
    from_name: str = "Test User",
    service_url: str = SERVICE_URL,
    reply_to_id: str | None = None,
    activity_id: str | None = None,
    **kwargs: Any,
) -> JsonDict:
    """What Teams sends when someone presses Allow or Decline on a file consent card in personal chat: an
    ``invoke`` named ``fileConsent/invoke`` whose value has ``action``, the card's ``context`` and, on
    accept, ``uploadInfo`` (a OneDrive upload session)."""
    activity = message_activity(
        None, from_id, from_name, service_url=service_url, activity_id=activity_id, reply_to_id=reply_to_id, **kwargs
    )
    activity.update(type="invoke", name="fileConsent/invoke", value=value)
    return activity


def conversation_update_installed(
    team_id: str = TEAM_ID,
    channel_id: str | None = None,
    service_url: str = SERVICE_URL,
    tenant_id: str = TENANT_ID,
    *,
    from_id: str = "29:1installer",
    from_aad_object_id: str | None = None,
    team_name: str = "EOI Test Team",
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
) -> JsonDict:
    """``conversationUpdate`` sent when the bot is added to a team.

    The conversation is the team's General channel, whose id equals the team id.
    """
    channel_id = channel_id or team_id
    utc, local = _timestamps()
    return {
        "membersAdded": [{"id": bot_id}],
        "type": "conversationUpdate",
        "timestamp": utc,
        "localTimestamp": local,
        "id": "f:" + uuid.uuid4().hex[:8],
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {
            "id": from_id,
            "aadObjectId": from_aad_object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, from_id)),
        },
        "conversation": _conversation("channel", channel_id, tenant_id),
        "recipient": {"id": bot_id, "name": bot_name},
        "channelData": {
            "team": {
                "id": team_id,
                "name": team_name,
                "aadGroupId": str(uuid.uuid5(uuid.NAMESPACE_URL, team_id)),
            },
            "eventType": "teamMemberAdded",
            "tenant": {"id": tenant_id},
            "settings": {"selectedChannel": {"id": channel_id}},
        },
    }


def conversation_update_channel_created(
    channel_id: str,
    channel_name: str,
    team_id: str = TEAM_ID,
    service_url: str = SERVICE_URL,
    tenant_id: str = TENANT_ID,
    **kwargs: Any,
) -> JsonDict:
    """``conversationUpdate`` sent to a bot installed in a team when someone adds a channel to it."""
    activity = conversation_update_installed(team_id, None, service_url, tenant_id, **kwargs)
    del activity["membersAdded"]
    activity["channelData"].update(eventType="channelCreated", channel={"id": channel_id, "name": channel_name})
    return activity


def conversation_update_personal_installed(
    user_id: str,
    service_url: str = SERVICE_URL,
    tenant_id: str = TENANT_ID,
    *,
    aad_object_id: str | None = None,
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
) -> JsonDict:
    """``conversationUpdate`` sent when a user installs the bot for personal chat."""
    aad = aad_object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, user_id))
    utc, _ = _timestamps()
    return {
        "membersAdded": [{"id": bot_id}, {"id": user_id, "aadObjectId": aad}],
        "type": "conversationUpdate",
        "timestamp": utc,
        "id": "f:" + uuid.uuid4().hex[:8],
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": user_id, "aadObjectId": aad},
        "conversation": _conversation("personal", personal_conversation_id(user_id), tenant_id),
        "recipient": {"id": bot_id, "name": bot_name},
        "channelData": {"tenant": {"id": tenant_id}},
    }


def installation_update(
    action: str = "add",
    conversation_type: str = "personal",
    service_url: str = SERVICE_URL,
    tenant_id: str = TENANT_ID,
    *,
    from_id: str = "29:1installer",
    from_name: str = "Installer",
    team_id: str = TEAM_ID,
    conversation_id: str | None = None,
    bot_id: str = BOT_ID,
    bot_name: str = BOT_NAME,
) -> JsonDict:
    """``installationUpdate`` (``action`` ``add``, ``remove``, ``add-upgrade``...)."""
    if conversation_id is None:
        conversation_id = personal_conversation_id(from_id) if conversation_type == "personal" else team_id
    channel_data: JsonDict = {"tenant": {"id": tenant_id}, "source": None}
    if conversation_type == "channel":
        channel_data["team"] = {
            "id": team_id,
            "name": "EOI Test Team",
            "aadGroupId": str(uuid.uuid5(uuid.NAMESPACE_URL, team_id)),
        }
        channel_data["settings"] = {"selectedChannel": {"id": conversation_id}}
    utc, local = _timestamps()
    return {
        "action": action,
        "type": "installationUpdate",
        "timestamp": utc,
        "localTimestamp": local,
        "id": "f:" + uuid.uuid4().hex[:8],
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {
            "id": from_id,
            "name": from_name,
            "aadObjectId": str(uuid.uuid5(uuid.NAMESPACE_URL, from_id)),
        },
        "conversation": _conversation(conversation_type, conversation_id, tenant_id),
        "recipient": {"id": bot_id, "name": bot_name},
        "entities": [_client_info()],
        "channelData": channel_data,
        "locale": "en-GB",
    }
