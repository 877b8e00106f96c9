"""Microsoft Teams: `POST /api/messages` in, neutral turns to dialogs.conversation.Conversations, Adaptive Cards
(bot.teams_cards) out, and a bot.delivery.Sender for proactive messages from stored conversation references.

Everything here is the same whichever Microsoft SDK carries the activities: what is checked before a turn (size,
shape, serviceUrl, tenant, duplicates), what each kind of activity means, who the speaker is, what is remembered
of a conversation, how replies are rendered and retried, and what a proactive send may do. What differs is a
handful of calls, the abstract methods of `TeamsChannel`, made by one module per SDK (EOI_TEAMS_SDK):

    bot.teams_adapter   botbuilder-core's CloudAdapter (Bot Framework SDK 4.17, archived; the default for now)
    bot.teams_agents    the Microsoft 365 Agents SDK's CloudAdapter, its successor

    Teams -> handle (parse, authenticate, check, de-duplicate) -> SDK adapter -> _on_turn
          -> Conversations.handle(Turn) -> teams_cards.render -> the SDK's reply (connector)

Both SDKs give a TurnContext whose `activity` has the same attribute names (`from_property`, `conversation`,
`channel_data` as a dict, `value`, `members_added`), which is all this module reads of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bot import downloads, metrics, teams_cards, teams_trust
from bot.delivery import SendFailed
from bot.service import Service
from bot.turn_runner import APOLOGY, Inbound
from dialogs import help
from dialogs.actions import Action, Answer, Command, SubmitForm, decode
from dialogs.cleaning import clean_text, tidy
from dialogs.commands import parse_command
from dialogs.replies import Form, Reply, refuse, say
from dialogs.rich import md
from dialogs.turns import ReceivedFile, Speaker
from storage import conversation_refs, events
from storage.db import failure_report
from storage.evidence import MAX_FILES

log = logging.getLogger("eoi-bot.teams")

PLATFORM = "msteams"
MAX_BODY = 256 * 1024
# Reactive replies: a 429 or 5xx from the connector is retried this many times, waiting at most this long.
REPLY_ATTEMPTS = 3
MAX_REPLY_WAIT = 5.0
_AT_TAG = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)
# A file sent in personal chat: an attachment of this type whose content's downloadUrl is a short-lived,
# pre-authenticated OneDrive link (teams_trust.DOWNLOAD_HOSTS). Fetched before the turn, within the Bot
# Framework's 15 seconds for an answer.
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
FETCH_SECONDS = 10.0

Activity = Any  # an SDK's activity model: botbuilder.schema.Activity or microsoft_agents.activity.Activity
Context = Any  # an SDK's TurnContext


# ----------------------------------------------------------------------------------------------- refusals
def _status_of(error: BaseException) -> tuple[int | None, float | None]:
    """An HTTP status and Retry-After from a connector error: msrest's HttpOperationError (botbuilder, and
    bot.teams_connector's) carries a `response`; aiohttp's ClientResponseError (the Agents SDK) the status and
    headers themselves."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    headers = getattr(response, "headers", None)
    if isinstance(error, aiohttp.ClientResponseError):
        status, headers = error.status, error.headers
    retry_after = None
    raw = headers.get("Retry-After") if headers is not None and hasattr(headers, "get") else None
    if raw:
        try:
            retry_after = max(0.0, float(raw))
        except ValueError:
            retry_after = None
    return (int(status) if status else None), retry_after


def send_failed(error: BaseException) -> SendFailed:
    """A connector error as the dispatcher understands it."""
    status, retry_after = _status_of(error)
    reason = f"Teams connector {status}: {str(error)[:200]}" if status else f"Teams connector: {str(error)[:200]}"
    if status == 429:
        metrics.RATE_LIMITED.labels("msteams").inc()
        return SendFailed(reason, retry_after=retry_after or 1.0)
    if status in (400, 401, 403, 404, 413):
        # Not in the roster, conversation gone, message too big, refused: trying again changes nothing.
        return SendFailed(reason, permanent=True)
    return SendFailed(reason, retry_after=retry_after)


# ----------------------------------------------------------------------------------------------- activities
def delivery_key(activity: Activity) -> str:
    """Teams activity ids are millisecond timestamps, unique only within a conversation."""
    return f"{PLATFORM}:{activity.conversation.id.split(';')[0]}:{activity.id}"


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _mentions(activity: Activity) -> list[tuple[str, str]]:
    """(id mentioned, text of the mention) of each mention entity: botbuilder keeps an entity's fields in
    `additional_properties`, the Agents SDK as a pydantic model's extra fields (or a typed Mention)."""
    found = []
    for entity in activity.entities or []:
        kind = _field(entity, "type")
        if str(getattr(kind, "value", kind) or "").lower() != "mention":  # the Agents SDK's is an enum
            continue
        props = getattr(entity, "additional_properties", None) or getattr(entity, "model_extra", None) or {}
        mentioned = props.get("mentioned") or _field(entity, "mentioned") or {}
        text = props.get("text") or _field(entity, "text") or ""
        found.append((str(_field(mentioned, "id") or ""), str(text)))
    return found


def strip_mentions(activity: Activity) -> str:
    """The text without the @mention of the bot (Teams puts `<at>EOI Bot</at>` in channel messages)."""
    text = activity.text or ""
    bot_id = getattr(activity.recipient, "id", None)
    for mentioned, said in _mentions(activity):
        if mentioned == bot_id and said:
            text = text.replace(said, " ")
    if ((activity.conversation and activity.conversation.conversation_type) or "personal") != "personal":
        text = _AT_TAG.sub(" ", text)
    return text.replace("&nbsp;", " ").strip()  # the rest of tidying is every channel's (dialogs.cleaning.tidy)


def sent_files(activity: Activity) -> list[tuple[str, str]]:
    """(name, downloadUrl) of each file attached to a message, in the order sent: at most MAX_FILES + 1 (one more
    than an EOI may hold is enough for the dialog to say there are too many). Pictures pasted inline (image/*,
    on the Bot Framework's servers, needing the bot's token) are not among them."""
    found = []
    for attachment in activity.attachments or []:
        if _field(attachment, "content_type") != FILE_DOWNLOAD_INFO:
            continue
        content = _field(attachment, "content")
        url, name = _field(content, "downloadUrl"), _field(attachment, "name")
        found.append((str(name or "") or "file", str(url or "")))
    return found[: MAX_FILES + 1]


def action_for_value(value: Any) -> tuple[Action | None, Form | None, dict[str, str], str]:
    """A card submit as an action: (the action, the form if one was submitted, its values, a message if
    unusable). A form's values come as a SubmitForm, by field name."""
    if not isinstance(value, dict):
        return None, None, {}, ""
    if "eoi_form" in value:
        form = teams_cards.form_from_data(value.get("eoi_form_def"))
        if form is None or form.command != value.get("eoi_form"):
            return None, None, {}, "That form is from an older version of the bot; open it again from the EOI."
        values = {f.name: str(value.get(teams_cards.FIELD_PREFIX + f.name) or "") for f in form.fields}
        return form.submitted(values), form, values, ""
    if "eoi_done" in value or "eoi_multi" in value:  # "eoi_multi": the question's id, on cards from before
        done = decode(value["eoi_done"] if "eoi_done" in value else f"a|{value['eoi_multi']}|")
        if isinstance(done, Answer):  # the question's answer is the options ticked
            done = done.ticked(str(value.get("eoi_values") or "").split(","))
        return done, None, {}, ""
    if "eoi_pick" in value:
        if not value.get("eoi_choice"):
            return None, None, {}, "Choose one of the options first, then press Choose."
        return decode(value["eoi_choice"]), None, {}, ""
    if "eoi_action" in value:
        # A forged or garbled value decodes to Unreadable, which the dialog refuses in words.
        return decode(value["eoi_action"]), None, {}, ""
    return None, None, {}, ""


def _channel_data(activity: Activity) -> dict[str, Any]:
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def conversation_key(activity: Activity) -> tuple[str, str]:
    """(key, scope) under which to remember where this activity came from."""
    conversation = activity.conversation
    kind = (conversation.conversation_type if conversation else "") or "personal"
    if kind == "personal":
        return activity.from_property.id, "personal"
    if kind == "channel":
        channel = (_channel_data(activity).get("channel") or {}).get("id")
        return (channel or conversation.id).split(";")[0], "channel"
    return conversation.id.split(";")[0], "groupChat"


def _refused(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


@dataclass(frozen=True)
class TeamsWhere:
    """Where a Teams turn is answered: its TurnContext (replies go back through it), and what rendering needs."""

    context: Context
    text: str  # what was typed or the form's command (a file consent card carries it, to make the file again)
    form: Form | None = None  # the form submitted, if any: its problems are shown on it
    values: dict[str, str] = field(default_factory=dict)
    personal: bool = True


# ----------------------------------------------------------------------------------------------- the channel
class TeamsChannel(ABC):
    """The Teams channel; a subclass per SDK makes the calls below the line."""

    platform = PLATFORM
    sdk = ""

    def __init__(self, service: Service) -> None:
        self.service = service
        settings = service.settings
        self.app_id = settings.microsoft_app_id
        self.emulator = not self.app_id  # attach_teams is called only when Teams is configured or emulated
        self.tenants = settings.teams_tenants
        self.members: OrderedDict[str, tuple[str, str]] = OrderedDict()  # user id -> (name, email)
        self.known_refs: dict[str, str] = {}  # key -> reference JSON last stored (skips needless writes)
        self.sender = TeamsSender(self)

    # ------------------------------------------------------------------------- what each SDK does
    @abstractmethod
    def parse(self, body: dict[str, Any]) -> Activity:
        """The SDK's activity from the request's JSON; raises on a shape the SDK can't read."""

    @abstractmethod
    async def authenticate(self, activity: Activity, header: str | None) -> Any:
        """The request's identity (claims), the Bot Framework token checked, including that its serviceurl
        claim names this activity's serviceUrl; raises when refused. No header is allowed in emulator mode."""

    @abstractmethod
    async def process(self, identity: Any, activity: Activity) -> tuple[int, Any] | None:
        """Run `_on_turn` through the SDK's adapter; an invoke's (status, body) to answer with."""

    @abstractmethod
    async def post(self, context: Context, fields: dict[str, Any]) -> None:
        """One rendered reply (teams_cards' dict, in wire form) into the turn's conversation, addressed as a
        reply to the activity. A connector refusal raises what `refusal` recognises."""

    @abstractmethod
    def refusal(self, error: Exception) -> SendFailed | None:
        """The connector's refusal (status, Retry-After) if `error` is one; None for anything else."""

    @abstractmethod
    async def answer_invoke(self, context: Context) -> None:
        """Answer an invoke with 200 (Teams shows an error otherwise)."""

    @abstractmethod
    async def member(self, context: Context, user_id: str) -> tuple[str, str]:
        """(name, email or UPN) of a member of the turn's conversation, asked of the connector."""

    @abstractmethod
    async def team_channel_ids(self, context: Context, team_id: str) -> list[str]:
        """The ids of a team's channels, asked of the connector."""

    @abstractmethod
    def reference(self, activity: Activity) -> dict[str, Any]:
        """The conversation reference of an activity, as JSON (Bot Framework's ConversationReference)."""

    @abstractmethod
    async def continue_conversation(self, reference: dict[str, Any], fields: dict[str, Any]) -> None:
        """Post a rendered message, as a new message, into a stored conversation (a proactive message)."""

    @abstractmethod
    async def close(self, _: object = None) -> None:
        """Close what the SDK keeps open (connection pools), with the app."""

    # ------------------------------------------------------------------------------------- HTTP
    async def handle(self, request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return _refused("expected application/json", 415)
        raw = await request.read()
        if len(raw) > MAX_BODY:
            return _refused("too large", 413)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: thousands of nested `[`
            return _refused("body is not JSON", 400)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
            return _refused("not a Bot Framework activity", 400)
        try:
            activity = self.parse(body)
        except Exception:  # each SDK raises its own kinds on odd shapes
            return _refused("not a Bot Framework activity", 400)
        if not activity.service_url or not activity.conversation or not activity.conversation.id:
            return _refused("activity without serviceUrl or conversation", 400)
        if activity.from_property is None or not activity.from_property.id:
            return _refused("activity without from", 400)

        header = request.headers.get("Authorization") or None
        if self.app_id and not header:
            return _refused("unauthorized", 401)
        try:
            identity = await self.authenticate(activity, header)
        except Exception as error:  # PermissionError, malformed JWTs, unknown issuers, keys not reachable...
            log.info("Teams request refused: %s", str(error)[:200])
            return _refused("unauthorized", 401)
        if not teams_trust.service_url_allowed(activity.service_url, emulator=self.emulator):
            # Before anything is stored or any request made: the bot would otherwise ask that server who the
            # person is, and believe it.
            log.warning("Teams activity refused: serviceUrl %s is not allowed", activity.service_url[:200])
            return _refused("serviceUrl not allowed", 403)
        tenant = teams_trust.tenant_of(activity.conversation.tenant_id, activity.channel_data)
        if not teams_trust.tenant_allowed(tenant, self.tenants):
            log.warning("Teams activity refused: tenant %r is not in EOI_TEAMS_TENANTS", tenant[:80])
            return _refused("tenant not allowed", 403)

        # A message records its id with the turn itself (_on_message): if we die mid-turn, Teams' redelivery
        # is handled. Anything else is marked seen first.
        once = activity.id and activity.type != "message"
        if once and not await events.first_time(self.service.db, delivery_key(activity), self.service.clock.now()):
            log.info("Teams activity %s delivered again; ignored", activity.id)
            return web.Response(status=200)

        invoke = await self.process(identity, activity)
        if invoke is not None:
            status, answer = invoke
            return web.json_response(answer, status=status)
        return web.Response(status=200)

    # ------------------------------------------------------------------------------------- turns
    async def _on_turn(self, context: Context) -> None:
        activity = context.activity
        try:
            if activity.type == "message":
                await self._on_message(context)
            elif activity.type == "conversationUpdate":
                await self._on_conversation_update(context)
            elif activity.type == "installationUpdate":
                if (activity.action or "").startswith("add"):
                    await self._on_installed(context)
            elif activity.type == "invoke":
                if activity.name == "fileConsent/invoke":
                    await self._on_file_consent(context)
                # Cards use Action.Submit only; answer other invokes politely so Teams doesn't show an error.
                await self.answer_invoke(context)
        except Exception as error:
            log.error("Teams turn failed (%s %s): %s", activity.type, activity.id, failure_report(error))
            if activity.type == "message":
                try:
                    await context.send_activity(APOLOGY)
                except Exception:
                    log.exception("Could not tell the user about the failure")

    async def _on_message(self, context: Context) -> None:
        activity = context.activity
        personal = (activity.conversation.conversation_type or "personal") == "personal"
        user_id = activity.from_property.id  # who they are is asked of Teams in identify
        action: Action | None = None
        form, values, text = None, {}, ""
        if activity.value is not None and not (activity.text or "").strip():
            action, form, values, problem = action_for_value(activity.value)
            if action is None:
                await self.remember(activity)
                if problem:
                    await self.send_replies(context, [teams_cards.render(refuse(problem))])
                return
        else:
            text = strip_mentions(activity)
        # What the replies are rendered for: the words typed, as the dialog reads them, the form's, or the command a
        # button stands for (so a file it makes is offered as if the command were typed).
        if isinstance(action, SubmitForm):
            said = action.words
        elif isinstance(action, Command):
            said = tidy(clean_text(action.text))
        else:
            said = tidy(clean_text(text))
        where = TeamsWhere(context, said, form, values, personal)
        key = delivery_key(activity) if activity.id else ""
        # Files only from personal chat (the Teams bot APIs give a team channel or group chat's files no download
        # link the bot may use); there they are fetched before the turn.
        files = await self.fetch_files(sent_files(activity)) if personal and action is None else ()
        inbound = Inbound(
            user_id,
            where,
            text=text,
            action=action,
            command=not personal,
            key=key,
            files=files,
            keep=partial(self.keep, activity),
        )
        await self.service.runner.run(self, inbound)

    async def fetch_files(self, sent: list[tuple[str, str]]) -> tuple[ReceivedFile, ...]:
        """Each (name, downloadUrl) fetched at once, with no Authorization header (the link is pre-authenticated:
        the bot's token never goes to it), only from OneDrive/SharePoint (loopback in emulator mode)."""
        if not sent:
            return ()
        async with downloads.session() as http:
            fetched = await asyncio.gather(
                *(
                    downloads.fetch(
                        http,
                        url,
                        name,
                        allowed=partial(teams_trust.download_url_allowed, emulator=self.emulator),
                        timeout=FETCH_SECONDS,
                    )
                    for name, url in sent
                )
            )
        return tuple(fetched)

    async def identify(self, inbound: Inbound[TeamsWhere]) -> Speaker:
        """Teams member information (email or UPN) for the speaker (where they can be reached later is kept in
        the turn's own transaction: `keep`)."""
        return await self.speaker(inbound.where.context)

    async def deliver(self, where: TeamsWhere, replies: list[Reply]) -> None:
        rendered = []
        if where.form is not None and replies and replies[0].field_errors:
            rendered.append(teams_cards.render_form_errors(where.form, where.values, replies[0]))
            replies = replies[1:]
        in_teams = where.context.activity.channel_id == PLATFORM
        rendered.extend(self._render(r, where.text, personal=where.personal, in_teams=in_teams) for r in replies)
        await self.send_replies(where.context, rendered)

    @staticmethod
    def _render(reply: Reply, text: str, *, personal: bool, in_teams: bool) -> dict[str, Any]:
        if not reply.file:
            return teams_cards.render(reply)
        # Teams takes files from a bot in personal chat only, once the person allows it; a file (all the EOIs)
        # is never posted in a channel. The Emulator shows it in the message.
        command = reply.remake or text
        if not personal:
            return teams_cards.file_elsewhere(reply, command if command and remade_on_allow(command) else "export")
        if in_teams and command and remade_on_allow(command):
            return teams_cards.file_consent(reply, command)
        # A file no command makes again (a school's PDF copy, made as it submits: allowing it must not submit
        # again) can't go through Teams' consent: the message says so, and the file is never shown as text.
        return teams_cards.render(reply)

    async def _on_file_consent(self, context: Context) -> None:
        """Someone answered a file consent card. On "Allow", the file is made afresh for them (so their role
        is checked now, and the export is audited) and PUT to the OneDrive upload session Teams gave."""

        async def tell(*replies: Reply) -> None:
            await self.send_replies(context, [teams_cards.render(r) for r in replies])

        value = context.activity.value if isinstance(context.activity.value, dict) else {}
        offered = value.get("context") if isinstance(value.get("context"), dict) else {}
        command = offered.get(teams_cards.EXPORT_CONTEXT)
        if not isinstance(command, str) or not remade_on_allow(command):
            return await tell(refuse("I don't recognise that file any more."))
        if value.get("action") != "accept":
            return await tell(say(md("No file sent. Ask for `{}` again any time.", command)))
        upload = value.get("uploadInfo") if isinstance(value.get("uploadInfo"), dict) else {}
        upload_url = str(upload.get("uploadUrl") or "")
        if not teams_trust.upload_url_allowed(upload_url, emulator=self.emulator):
            log.warning("file consent refused: upload URL %s is not a OneDrive address", upload_url[:200])
            return await tell(refuse("Teams gave me nowhere to put the file."))
        # Made again for whoever allowed it, through the same runner as any turn (their role is checked now).
        inbound = Inbound(
            context.activity.from_property.id,
            TeamsWhere(context, command),
            text=command,
            command=True,
            keep=partial(self.keep, context.activity),
        )
        replies = await self.service.runner.run(self, inbound, deliver=False) or []
        files = [r for r in replies if r.file]
        # The file this card offered, by its name (`show REF files` makes one reply per file); an export's name has
        # the time it was made in it, and a card from before names none: then the only file made.
        wanted = offered.get(teams_cards.FILE_CONTEXT)
        alone = files[0] if len(files) == 1 and (wanted is None or parse_command(command).name == "export") else None
        made = next((r for r in files if r.file and r.file[0] == wanted), alone)
        if made is None or made.file is None:  # no longer allowed, say: tell them why
            return await tell(refuse("I don't recognise that file any more.")) if files else await tell(*replies)
        name, content = made.file
        status = await _upload(upload_url, content if isinstance(content, bytes) else content.encode("utf-8"))
        if status not in (200, 201):
            failed = md(
                "I couldn't put {} in your OneDrive (it answered {}). Ask for `{}` again.", name, status, command
            )
            return await tell(refuse(failed))
        card = teams_cards.file_info(
            made.text,
            str(upload.get("name") or name),
            str(upload.get("contentUrl") or ""),
            str(upload.get("uniqueId") or ""),
            str(upload.get("fileType") or name.rsplit(".", 1)[-1]),
        )
        await self.send_replies(context, [card])

    async def _on_conversation_update(self, context: Context) -> None:
        activity = context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if any(m.id == bot_id for m in activity.members_added or []):
            await self._on_installed(context)
        elif _channel_data(activity).get("eventType") in ("channelCreated", "channelRenamed", "channelRestored"):
            created = _channel_data(activity).get("channel") or {}
            if isinstance(created, dict) and isinstance(created.get("id"), str):
                await self.remember_channels(activity, [created["id"]])

    async def _on_installed(self, context: Context) -> None:
        activity = context.activity
        _, scope = await self.remember(activity)
        if scope == "channel":
            # Every channel of the team, so the register may name any of them as a school's channel.
            await self.remember_channels(activity, await self._team_channels(context))
        if scope == "personal":
            user_id = context.activity.from_property.id
            greeting = Inbound(
                user_id, TeamsWhere(context, "help"), text="help", command=True, keep=partial(self.keep, activity)
            )
            await self.service.runner.run(self, greeting)
        else:
            await self.send_replies(context, [teams_cards.render(help.shared_greeting())])

    async def send_replies(self, context: Context, rendered: list[dict[str, Any]]) -> None:
        """Send in order; a throttled or failing connector is retried a few times within the turn."""
        for fields in rendered:
            for attempt in range(1, REPLY_ATTEMPTS + 1):
                try:
                    await self.post(context, fields)
                    break
                except Exception as error:
                    failed = self.refusal(error)
                    if failed is None:
                        raise
                    if failed.permanent or attempt == REPLY_ATTEMPTS:
                        log.warning("Teams reply not sent: %s", failed.reason)
                        return
                    await asyncio.sleep(min(MAX_REPLY_WAIT, failed.retry_after or 0.5 * attempt))

    # ------------------------------------------------------------------------------------- people
    async def speaker(self, context: Context) -> Speaker:
        """Who is talking: Teams member information (email or UPN) matches staff to the school register."""
        user = context.activity.from_property
        known = self.members.get(user.id)
        if known is None and context.activity.channel_id == PLATFORM:
            try:
                name, email = await self.member(context, user.id)
                known = (name or user.name or "", email if "@" in email else "")
                self.members[user.id] = known
                while len(self.members) > 10_000:
                    self.members.popitem(last=False)
            except Exception as error:  # not found, no connector (emulator), throttled: ask again next time
                log.info("Teams member lookup for %s failed: %s", user.id, str(error)[:200])
        name, email = known or (user.name or "", "")
        return Speaker(PLATFORM, user.id, display_name=name, email=email)

    async def _team_channels(self, context: Context) -> list[str]:
        """The ids of the team's channels (the connector's teams API), or none if it can't be asked."""
        team = (_channel_data(context.activity).get("team") or {}).get("id")
        if not team:
            return []
        try:
            return await self.team_channel_ids(context, team)
        except Exception as error:  # not Teams, no rights, throttled: the General channel still works
            log.info("Teams channel list for %s failed: %s", team, str(error)[:200])
            return []

    # ------------------------------------------------------------------------------------- where they are
    def _reference(self, activity: Activity, key: str, scope: str) -> dict[str, Any]:
        reference = self.reference(activity)
        reference.pop("activityId", None)
        if scope != "personal":
            # Proactive messages start a new thread in the channel, not a reply to the message that taught us.
            reference["conversation"] = {**(reference.get("conversation") or {}), "id": key}
            reference.pop("user", None)
        return reference

    async def remember_channels(self, activity: Activity, channel_ids: list[str]) -> None:
        """Store a reference for each channel of the team this activity came from (same service URL and
        tenant, the channel's own conversation id), so proactive messages can start a thread there."""
        await self._store(activity, [channel_id.split(";")[0] for channel_id in channel_ids], "channel")

    async def remember(self, activity: Activity) -> tuple[str, str]:
        """Where this activity came from, stored in a transaction of its own (an activity that is no turn)."""
        key, scope = conversation_key(activity)
        await self._store(activity, [key], scope, user_id=activity.from_property.id if scope == "personal" else "")
        return key, scope

    async def keep(self, activity: Activity, session: AsyncSession, now: datetime) -> None:
        """Where a turn's activity came from, stored in the turn's own transaction (Inbound.keep): kept with the
        turn, or not at all."""
        key, scope = conversation_key(activity)
        changed = self._changed(activity, [key], scope)
        if not changed:
            return
        await self._write(
            session, changed, scope, now, user_id=activity.from_property.id if scope == "personal" else ""
        )
        # Known as stored once the turn's transaction commits; a turn rolled back leaves it to the next turn.
        event.listen(session.sync_session, "after_commit", lambda _: self._stored(changed), once=True)

    async def _store(self, activity: Activity, keys: list[str], scope: str, *, user_id: str = "") -> None:
        """Store these conversations' references, skipping any stored just as it is (no needless writes)."""
        changed = self._changed(activity, keys, scope)
        if not changed:
            return
        async with self.service.db.session() as session:
            await self._write(session, changed, scope, self.service.clock.now(), user_id=user_id)
            await session.commit()
        self._stored(changed)

    def _changed(self, activity: Activity, keys: list[str], scope: str) -> dict[str, tuple[dict[str, Any], str]]:
        """The references of these conversations not already stored just as they are: (reference, fingerprint)."""
        changed: dict[str, tuple[dict[str, Any], str]] = {}
        for key in dict.fromkeys(keys):
            reference = self._reference(activity, key, scope)
            fingerprint = json.dumps(reference, sort_keys=True)
            if self.known_refs.get(key) != fingerprint:
                changed[key] = (reference, fingerprint)
        return changed

    @staticmethod
    async def _write(
        session: AsyncSession,
        changed: dict[str, tuple[dict[str, Any], str]],
        scope: str,
        now: datetime,
        *,
        user_id: str = "",
    ) -> None:
        for key, (reference, _) in changed.items():
            await conversation_refs.remember(
                session, platform=PLATFORM, key=key, scope=scope, reference=reference, now=now, user_id=user_id
            )

    def _stored(self, changed: dict[str, tuple[dict[str, Any], str]]) -> None:
        self.known_refs.update({key: fingerprint for key, (_, fingerprint) in changed.items()})


# The commands whose file is offered with a consent card: on "Allow" the command runs again for whoever allowed it,
# so only one that changes nothing may be here (`export`, `copy`, an officer's `show REF files`); a file made by a
# step that changes something (submitting makes the school's PDF copy) is offered through the command that makes it
# again (Reply.remake).
REMADE_ON_ALLOW = ("export", "copy")


def remade_on_allow(command: str) -> bool:
    parsed = parse_command(command)
    if parsed.name == "show":  # `show REF files`: an officer fetching an EOI's files (audited; nothing changes)
        return parsed.rest.split()[1:2] in (["files"], ["file"])
    return parsed.name in REMADE_ON_ALLOW


async def _upload(url: str, data: bytes) -> int:
    """PUT a whole file to a OneDrive upload session; the HTTP status (0 when it could not be reached)."""
    headers = {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http,
            http.put(url, data=data, headers=headers) as response,
        ):
            return response.status
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        log.warning("upload to OneDrive failed: %s", error)
        return 0


# ----------------------------------------------------------------------------------------------- sending
class TeamsSender:
    """bot.delivery.Sender for Teams: proactive messages through stored conversation references, so they
    work after a restart from the database alone."""

    platform = PLATFORM
    min_interval = 0.15  # Teams allows about 7 messages a second per conversation

    def __init__(self, channel: TeamsChannel) -> None:
        self.channel = channel

    async def _reachable(self, session: AsyncSession, key: str) -> bool:
        return await conversation_refs.find(session, platform=PLATFORM, key=key) is not None

    async def channel_address(self, session: AsyncSession, channel_id: str) -> str | None:
        return f"{PLATFORM}:{channel_id}" if await self._reachable(session, channel_id) else None

    async def person_address(self, session: AsyncSession, user_id: str) -> str | None:
        return f"{PLATFORM}:{user_id}" if await self._reachable(session, user_id) else None

    async def send(self, destination: str, reply: Reply, *, key: str = "") -> None:
        """`key` (the delivery's name) is not used: the Bot Connector cannot be asked later whether a message
        went, so there is no `already_sent` for Teams and a send interrupted by a crash may be repeated."""
        platform, _, ref_key = destination.partition(":")
        if platform != PLATFORM or not ref_key:
            raise SendFailed(f"not a Teams destination: {destination}", permanent=True)
        async with self.channel.service.db.session() as session:
            stored = await conversation_refs.find(session, platform=PLATFORM, key=ref_key)
            reference = dict(stored.reference) if stored else None
        if reference is None:
            raise SendFailed(f"no stored Teams conversation for {ref_key}", permanent=True)
        if not teams_trust.service_url_allowed(str(reference.get("serviceUrl") or ""), emulator=self.channel.emulator):
            # Stored before serviceUrls were checked, or under another mode: never send there.
            raise SendFailed(f"the stored Teams conversation {ref_key} names a serviceUrl not allowed", permanent=True)
        try:
            await self.channel.continue_conversation(reference, teams_cards.render(reply))
        except SendFailed:
            raise
        except Exception as error:  # connection refused, timeouts, token endpoint down: try again later
            refused = self.channel.refusal(error)
            if refused is not None:
                raise refused from error
            raise SendFailed(f"Teams send failed: {type(error).__name__}: {str(error)[:200]}") from error


TEAMS = web.AppKey("teams", TeamsChannel)


def attach_teams(app: web.Application, service: Service, sdk: type[TeamsChannel]) -> TeamsChannel:
    """Serve Teams at POST /api/messages on this SDK's channel (bot.app.build_app picks it by EOI_TEAMS_SDK), and
    register its sender for proactive messages. Only when Teams is configured (an app id) or emulator mode is
    asked for (EOI_TEAMS_EMULATOR=1)."""
    if not service.settings.teams_enabled:
        raise ValueError("Teams is not configured: set MICROSOFT_APP_ID, or EOI_TEAMS_EMULATOR=1 for local tests")
    channel = sdk(service)
    app[TEAMS] = channel
    app.router.add_post("/api/messages", channel.handle)
    app.on_cleanup.append(channel.close)
    service.senders.append(channel.sender)
    return channel
