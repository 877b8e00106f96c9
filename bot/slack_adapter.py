"""The Slack channel: a slack-bolt AsyncApp at POST /slack/events inside the service's aiohttp app.

Slack request -> Turn -> Conversations.handle -> Replies -> Block Kit (bot.slack_blocks) -> Slack.

- Every request's signature is checked before anything else (401 otherwise); Bolt checks it again.
- Slash commands and button clicks are acknowledged at once; the turn runs after the ack, one turn at a time
  per user so answers keep their order. A typed message is handled (committed) before the ack and answered
  after it; replies to one person are posted in the order their turns ran. A message with files in the DM
  (file_share) is acknowledged first: its files are fetched (bot.downloads) and its turn runs after the ack.
- Event retries (X-Slack-Retry-Num) and duplicate event_ids are handled once (storage.events.first_time).
- A slash command, button press or form submission posted again (a replay inside the 5-minute signature
  window) is acknowledged and does nothing: each is keyed by its signature (request_key).
- The dialog happens in the user's DM with the app; replies to a command typed in a shared channel are
  ephemeral (only that user sees them), and a dialog started there moves to the DM.
- Proactive messages (notices to schools and officers) go through SlackSender, driven by bot.delivery.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import logging
import re
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import downloads, metrics
from bot import slack_blocks as kit
from bot.delivery import SendFailed
from bot.service import Service
from bot.slack_socket_mode import ENVELOPE_HEADER, connect_out
from bot.turn_runner import Inbound
from dialogs.actions import Action, Answer, decode
from dialogs.replies import Reply, say
from dialogs.turns import ReceivedFile, Speaker
from storage.db import failure_report
from storage.events import first_time
from storage.evidence import MAX_FILE_BYTES, MAX_FILES

log = logging.getLogger("eoi-bot.slack")

PLATFORM = "slack"
DEFAULT_API_URL = "https://slack.com/api/"
USER_CACHE_SECONDS = 300.0
# Errors after which sending to the same destination again cannot work.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "restricted_action",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
    }
)


# A file sent in the DM (a message event of this subtype): its bytes come from Slack's file host, with the bot
# token (files:read), and only from there. Fetching may take longer than Slack's 3 seconds, so it is done after the
# 200 (SlackAdapter.on_message).
FILE_SHARE = "file_share"
FILE_HOSTS = ("files.slack.com",)
FETCH_SECONDS = 60.0  # one file's files.info and download, after the 200


def file_url_allowed(url: str, api_url: str = "") -> bool:
    """May the bot send its token to `url` to fetch a file? HTTPS to Slack's file host; and, only when SLACK_API_URL
    is set (the tests' fake Slack), that same scheme, host and port."""
    try:
        parts = urlsplit(url)
        where = (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)
        configured = urlsplit(api_url) if api_url else None
        ours = (configured.scheme.lower(), (configured.hostname or "").lower(), configured.port) if configured else None
    except ValueError:
        return False
    if where[0] == "https" and where[1] in FILE_HOSTS and where[2] in (None, 443):
        return True
    return ours is not None and bool(ours[1]) and where == ours


def shared_files(shared: Any) -> list[tuple[str, str]]:
    """(file id, name) of each file of a file_share event, in the order sent: at most MAX_FILES + 1 (one more than
    an EOI may hold is enough for the dialog to say there are too many; Slack allows ten a message)."""
    listed = [f for f in shared if isinstance(f, dict)] if isinstance(shared, list) else []
    found = [(f["id"], str(f.get("name") or "")) for f in listed if isinstance(f.get("id"), str) and f["id"]]
    return found[: MAX_FILES + 1]


def api_url(settings_url: str) -> str:
    url = settings_url or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if str(key).lower() == name.lower():
            return value[0] if isinstance(value, list) and value else str(value)
    return None


def send_failure(error: Exception) -> SendFailed:
    """A Web API failure as the dispatcher understands it."""
    if isinstance(error, SlackApiError):
        response = error.response
        status = getattr(response, "status_code", 0)
        code = str((response.data or {}).get("error", "")) if isinstance(response.data, dict) else ""
        if status == 429 or code == "ratelimited":
            metrics.RATE_LIMITED.labels("slack").inc()
            raw = _header(response.headers, "Retry-After")
            try:
                wait = float(raw) if raw is not None else 1.0
            except ValueError:
                wait = 1.0
            return SendFailed(f"Slack rate limit (429), retry after {wait:g}s", retry_after=wait)
        if status >= 500:
            return SendFailed(f"Slack server error {status}: {code or 'no detail'}")
        return SendFailed(f"Slack refused: {code or status}", permanent=code in PERMANENT_ERRORS)
    if isinstance(error, asyncio.TimeoutError | aiohttp.ClientError | OSError):
        return SendFailed(f"Slack unreachable: {type(error).__name__}: {error}")
    return SendFailed(f"{type(error).__name__}: {error}")


DELIVERY_EVENT = "eoi_delivery"
# Reading back after a crash: Slack's clock and ours may differ by this much, and at most this many pages of 200.
CLOCK_MARGIN = timedelta(minutes=2)
HISTORY_PAGES = 5


async def dm_channel(client: AsyncWebClient, user_id: str) -> str:
    """The id (D…) of the app's DM with this person (conversations.open, im:write)."""
    opened = await client.conversations_open(users=user_id)
    return str((opened.get("channel") or {}).get("id") or "")


def upload(content: str | bytes) -> dict[str, str | bytes]:
    """files_upload_v2's argument for a file's content: text as `content`, bytes (a PDF) as `file`, which takes
    bytes as the data itself (a str there would be read as a path on this machine)."""
    return {"file": content} if isinstance(content, bytes) else {"content": content}


class SlackSender:
    """bot.delivery.Sender for Slack: a register channel id or a person's user id is already an address."""

    platform = PLATFORM
    min_interval = 1.0

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def channel_address(self, session: AsyncSession, channel_id: str) -> str | None:
        return f"{PLATFORM}:{channel_id}"  # a channel the bot isn't in fails at send, visibly to officers

    async def person_address(self, session: AsyncSession, user_id: str) -> str | None:
        return f"{PLATFORM}:{user_id}"  # a user id as the channel posts in the app's DM with them

    async def send(self, destination: str, reply: Reply, *, key: str = "") -> None:
        platform, _, channel = destination.partition(":")
        if platform != PLATFORM or not channel:
            raise SendFailed(f"not a Slack destination: {destination}", permanent=True)
        if reply.file and await self._upload(channel, reply):
            return
        try:
            text, blocks = kit.render(reply)
        except ValueError as error:
            raise SendFailed(f"cannot render for Slack: {error}", permanent=True) from error
        try:
            # The delivery key rides along as message metadata, so that after a crash mid-send
            # already_sent() can tell whether this message went.
            metadata = {"event_type": DELIVERY_EVENT, "event_payload": {"key": key}} if key else None
            await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata)
        except Exception as error:
            raise send_failure(error) from error

    async def _upload(self, channel: str, reply: Reply) -> bool:
        """A file for a school or officers (a calendar invitation) is shared as a file in the channel or DM, the
        reply's text as its comment, as an export is. If Slack refuses, False: it goes in the message instead."""
        assert reply.file is not None
        name, content = reply.file
        try:
            where = await dm_channel(self.client, channel) if channel[:1] in ("U", "W") else channel
            await self.client.files_upload_v2(
                channel=where, filename=name, title=name, **upload(content), initial_comment=kit.mrkdwn(reply.text)
            )
        except SlackApiError as error:
            if error.response.status_code == 429:  # rate limited: the dispatcher waits and sends it again
                raise send_failure(error) from error
            log.warning("uploading %s to %s failed (%s); sending it in the message", name, channel, error)
            return False
        except (SlackRequestError, aiohttp.ClientError, OSError) as error:
            log.warning("uploading %s to %s failed (%s); sending it in the message", name, channel, error)
            return False
        return True

    async def already_sent(self, destination: str, key: str, *, since: datetime | None = None) -> bool | None:
        """Whether a message with this delivery key is in the conversation's history since `since` (when the
        first try at sending it began): a channel's (channels:history, groups:history) or, for a person, the DM
        we share with them (conversations.open with im:write finds it; im:history reads it). Slack limits
        conversations.history hard for apps outside its Marketplace, so only that span is read (`oldest`, less
        a margin for the two clocks), page by page. A failed or rate-limited read raises SendFailed: "don't
        know yet", never "not sent". None: not a conversation whose history can be read."""
        channel = destination.partition(":")[2]
        try:
            if channel[:1] in ("U", "W"):
                channel = await dm_channel(self.client, channel)
            if channel[:1] not in ("C", "G", "D"):
                return None
            oldest = {"oldest": f"{(since - CLOCK_MARGIN).timestamp():.6f}"} if since else {}
            cursor = ""
            for _ in range(HISTORY_PAGES):
                response = await self.client.conversations_history(
                    channel=channel, limit=200, include_all_metadata=True, cursor=cursor or None, **oldest
                )
                for message in response.get("messages", []):
                    payload = (message.get("metadata") or {}).get("event_payload") or {}
                    if payload.get("key") == key:
                        return True
                cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
                if not response.get("has_more") or not cursor:
                    return False
        except Exception as error:
            raise send_failure(error) from error
        raise SendFailed(f"more than {HISTORY_PAGES * 200} messages in {channel} since it was first sent")


@dataclass(frozen=True)
class Where:
    """Where a user spoke to us, so replies go back the right way."""

    user_id: str
    channel_id: str = ""
    response_url: str = ""

    @property
    def in_dm(self) -> bool:
        return not self.channel_id or self.channel_id.startswith("D")


class SlackAdapter:
    platform = PLATFORM

    def __init__(self, service: Service, bolt: AsyncApp, client: AsyncWebClient, signing_secret: str) -> None:
        self.service, self.bolt, self.client = service, bolt, client
        # None over Socket Mode, where nothing arrives by HTTP (and there may be no signing secret).
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self._people: dict[str, tuple[float, Speaker]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._posting: dict[str, asyncio.Task[None]] = {}  # the latest replies being posted, per person
        bolt.middleware(self._once_per_event)
        bolt.command("/eoi")(self.on_command)
        bolt.event("message")(self.on_message)
        bolt.event("app_home_opened")(self.on_home_opened)
        bolt.action(_starts(kit.BUTTON))(self.on_button)
        bolt.action(_starts(kit.FORM_BUTTON))(self.on_form_button)
        bolt.action(_starts(kit.MULTI))(self.on_checkbox)
        bolt.action(kit.DONE)(self.on_done)
        bolt.action(kit.PICK)(self.on_pick)
        bolt.view(kit.FORM_VIEW)(self.on_form_submitted)

    # ------------------------------------------------------------------ HTTP
    async def handle_http(self, request: web.Request) -> web.Response:
        try:
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="the body is not UTF-8")
        if body.startswith("ssl_check=1"):
            return web.Response(text="")  # Slack checking our certificate: nothing to do
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        verifier = self.verifier
        if not (timestamp.isdecimal() and signature and verifier and verifier.is_valid(body, timestamp, signature)):
            # Forged, stale (over 5 minutes) or unsigned: nothing is parsed, stored or sent.
            return web.json_response({"error": "invalid signature"}, status=401)
        if not _well_formed(body, request.headers.get("Content-Type", "")):
            return web.json_response({"error": "malformed request"}, status=400)
        bolt_response = await self.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def drain(self, _: web.Application | None = None, *, timeout: float = 10.0) -> None:
        """Wait for turns already acknowledged to finish (on shutdown; tests use it to settle)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=deadline - asyncio.get_running_loop().time())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ Bolt middleware and listeners
    async def _once_per_event(self, body: dict[str, Any], next: Any) -> BoltResponse | None:
        """Slack redelivers an event it thinks we missed: handle each event_id once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if (body.get("event") or {}).get("type") == "message":
            return await next()  # a typed answer records its event_id with the turn itself (on_message)
        if (
            isinstance(event_id, str)
            and event_id
            and not await first_time(self.service.db, f"slack:{event_id}", self.service.clock.now())
        ):
            log.info("event %s seen before; ignored", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    async def on_command(self, ack: AsyncAck, command: dict[str, Any], request: AsyncBoltRequest) -> None:
        where = Where(
            user_id=str(command.get("user_id", "")),
            channel_id=str(command.get("channel_id", "")),
            response_url=str(command.get("response_url", "")),
        )
        text = html.unescape(str(command.get("text", "")))
        self._spawn(self._turn(where, text=text, command=True, once=request_key(request)))
        await ack()

    async def on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        subtype = event.get("subtype") or None
        if event.get("channel_type") != "im" or subtype not in (None, FILE_SHARE) or event.get("bot_id"):
            return  # edits, joins, bot posts (ours included), and anything outside the DM (a file shared there too)
        user, text = event.get("user"), event.get("text")
        if subtype == FILE_SHARE and text is None:
            text = ""  # a file sent without a word
        if not isinstance(user, str) or not isinstance(text, str):
            return
        where = Where(user_id=user, channel_id=str(event.get("channel", "")))
        if subtype == FILE_SHARE:
            # Fetching files can outlast Slack's 3 seconds: acknowledged first and handled after, as a slash
            # command is, the event_id still recorded with the turn (a retry is handled once).
            once = f"slack:{body.get('event_id') or ''}"
            self._spawn(self._file_turn(where, html.unescape(text), event.get("files"), once))
            return
        # Handled before Slack gets its 200 (process_before_response), with the event_id recorded in the
        # turn's own transaction: if we die mid-turn, Slack's retry is handled, and nothing twice. The replies
        # are queued (deliver), so they go after the 200: posting can wait on Slack's one-a-second limit, and
        # Slack retries an event it has no answer to within 3 seconds.
        await self._turn(where, text=html.unescape(text), once=f"slack:{body.get('event_id') or ''}")

    async def on_home_opened(self, event: dict[str, Any]) -> None:
        """The Home tab shows where things stand; the first time someone opens the Messages tab, a greeting."""
        user = event.get("user")
        if not isinstance(user, str):
            return
        if event.get("tab") == "home":
            self._spawn(self._publish_home(user))
            return
        if event.get("tab") not in (None, "messages"):
            return
        if await first_time(self.service.db, f"slack:greeted:{user}", self.service.clock.now()):
            self._spawn(self._turn(Where(user_id=user), text="help", command=True))

    async def _publish_home(self, user_id: str) -> None:
        """A headteacher's Home tab is their school's EOI status; anyone else's, what they can do. Its buttons
        answer in the DM, like the same buttons there."""
        try:
            replies = await self.service.conversations.home(await self.speaker(user_id))
            await self.client.views_publish(user_id=user_id, view=kit.home_view(replies))
        except SlackApiError as error:
            log.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))
        except Exception as error:
            log.error("Home tab for %s failed: %s", user_id, failure_report(error))

    async def on_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        # A forged or garbled value decodes to Unreadable, which the dialog refuses in words.
        self._spawn(self._turn(_where(body), action=decode(action.get("value")), once=request_key(request)))
        await ack()

    async def on_pick(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        chosen = action.get("selected_option")
        value = chosen.get("value") if isinstance(chosen, dict) else None
        # As a button's value: a forged or garbled one decodes to Unreadable, which the dialog refuses in words.
        self._spawn(self._turn(_where(body), action=decode(value), once=request_key(request)))
        await ack()

    async def on_done(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        done = decode(action.get("value"))
        if isinstance(done, Answer):  # the question's answer is the boxes ticked
            done = done.ticked(kit.checked_values((body.get("state") or {}).get("values") or {}))
        self._spawn(self._turn(_where(body), action=done, once=request_key(request)))
        await ack()

    async def on_checkbox(self, ack: AsyncAck) -> None:
        await ack()  # ticking a box changes nothing until Done

    async def on_form_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        await ack()
        where = _where(body)
        key = request_key(request)
        if key and not await first_time(self.service.db, key, self.service.clock.now()):
            log.info("Slack request %s seen before; ignored", key)
            return  # a replay: opening the form again changes nothing, but neither should it happen twice
        try:
            form = kit.form_from_json(str(action.get("value", "")))
        except (ValueError, KeyError, TypeError) as error:
            log.warning("bad form button from %s: %s", where.user_id, error)
            return
        # The box holds the current answer (a button's 2,000 characters can't carry a long one).
        form = await self.service.conversations.form_as_now(await self.speaker(where.user_id), form)
        try:
            view = kit.form_view(form, {"channel": where.channel_id})
        except (ValueError, KeyError, TypeError) as error:
            log.warning("bad form button from %s: %s", where.user_id, error)
            return
        try:
            await self.client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
        except SlackApiError as error:
            log.warning("views.open failed: %s", error.response.get("error"))
            self._post_in_order(where, [say("Sorry, that form couldn't open. Please try the button again.")])

    async def on_form_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        user = str((body.get("user") or {}).get("id", ""))
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            form = kit.form_from_json(meta["form"])
        except (ValueError, KeyError, TypeError):
            await ack()
            return
        values = kit.form_values(form, (view.get("state") or {}).get("values") or {})
        # Answered inside the acknowledgement: a problem is shown on the form, with what was typed still there.
        inbound = Inbound(user, Where(user_id=user), action=form.submitted(values), key=request_key(request))
        replies = await self.service.runner.run(self, inbound, deliver=False)
        if replies is None:
            await ack()
            return
        errors = replies[0].field_errors if replies else {}
        if errors:
            names = [f.name for f in form.fields]
            on_fields = {k: v[:500] for k, v in errors.items() if k in names}
            if not on_fields and names:
                on_fields = {names[0]: replies[0].text.markup[:500]}
            await ack(response_action="errors", errors=on_fields)
            return
        await ack()
        self._post_in_order(Where(user_id=user), replies)

    # ------------------------------------------------------------------ turns
    async def speaker(self, user_id: str) -> Speaker:
        """Who this is, with the email that matches them to a school; cached for a few minutes."""
        cached = self._people.get(user_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        speaker, ttl = Speaker(PLATFORM, user_id), 30.0
        try:
            info = await self.client.users_info(user=user_id)
            user = info.get("user") or {}
            profile = user.get("profile") or {}
            name = profile.get("real_name") or user.get("real_name") or profile.get("display_name") or ""
            active = not user.get("deleted") and not user.get("is_bot")
            email = str(profile.get("email") or "") if active else ""
            speaker, ttl = Speaker(PLATFORM, user_id, display_name=str(name)[:200], email=email), USER_CACHE_SECONDS
        except SlackApiError as error:
            log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
        if len(self._people) > 10_000:  # forget the expired, so a big workspace doesn't grow this forever
            now = time.monotonic()
            self._people = {k: v for k, v in self._people.items() if v[0] > now}
        self._people[user_id] = (time.monotonic() + ttl, speaker)
        return speaker

    async def identify(self, inbound: Inbound[Where]) -> Speaker:
        return await self.speaker(inbound.user_id)

    async def deliver(self, where: Where, replies: list[Reply]) -> None:
        # Queued, not awaited: the runner holds the person's lock while it delivers, and a typed message from them
        # waits for that lock before Slack's 200. Posting can wait out 429s for many seconds (a busy DM), which
        # held those 200s past Slack's 3 seconds (found by the simulation); the queue keeps the order anyway.
        self._post_in_order(where, replies)

    def _post_in_order(self, where: Where, replies: list[Reply]) -> None:
        """Post after whatever is still being posted to this person (every reply goes this way), so replies
        arrive in the order their turns ran, whichever of them waited out a 429."""
        previous = self._posting.get(where.user_id)

        async def after_previous() -> None:
            if previous is not None:
                await asyncio.wait({previous})
            await self._post(where, replies)

        task = asyncio.get_running_loop().create_task(after_previous())
        self._posting[where.user_id] = task
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._posting.get(where.user_id) is finished:
                del self._posting[where.user_id]
            if not finished.cancelled() and (error := finished.exception()) is not None:
                log.error("posting replies to %s failed: %s", where.user_id, failure_report(error))

        task.add_done_callback(done)

    async def _turn(
        self,
        where: Where,
        *,
        text: str = "",
        action: Action | None = None,
        command: bool = False,
        once: str = "",
        files: tuple[ReceivedFile, ...] = (),
    ) -> None:
        key = once if once != "slack:" else ""
        inbound = Inbound(where.user_id, where, text=text, action=action, command=command, key=key, files=files)
        await self.service.runner.run(self, inbound)

    async def _file_turn(self, where: Where, text: str, shared: Any, once: str) -> None:
        """A message with files in the DM: the files fetched, then one turn with them and the words sent along."""
        wanted = shared_files(shared)
        try:
            files = await self.fetch_files(wanted)
        except Exception as error:  # never a lost turn: each file is unreachable, the words still count
            log.error("fetching files from %s failed: %s", where.user_id, failure_report(error))
            files = tuple(ReceivedFile(name or file_id, problem=downloads.UNREACHABLE) for file_id, name in wanted)
        await self._turn(where, text=text, once=once, files=files)

    async def fetch_files(self, wanted: list[tuple[str, str]]) -> tuple[ReceivedFile, ...]:
        """Each (file id, name) fetched at once, in the order sent."""
        if not wanted:
            return ()
        async with downloads.session() as http:
            return tuple(await asyncio.gather(*(self._fetch_file(http, file_id, name) for file_id, name in wanted)))

    async def _fetch_file(self, http: aiohttp.ClientSession, file_id: str, named: str) -> ReceivedFile:
        """One file: its name, size and download URL from files.info (files:read; Slack Connect files carry only
        their id in the event), then its bytes, unless Slack's size is over the limit (never downloaded)."""
        try:
            async with asyncio.timeout(FETCH_SECONDS):
                found = (await self.client.files_info(file=file_id)).get("file")
        except (SlackApiError, SlackRequestError, aiohttp.ClientError, OSError, TimeoutError) as error:
            log.warning("files.info for %s failed: %s", file_id, type(error).__name__)
            return ReceivedFile(named or file_id, problem=downloads.UNREACHABLE)
        info = found if isinstance(found, dict) else {}
        name = str(info.get("name") or named or file_id)
        size = info.get("size") if isinstance(info.get("size"), int) else 0
        if size > MAX_FILE_BYTES:
            return ReceivedFile(name, size=size, problem=downloads.TOO_BIG)
        return await downloads.fetch(
            http,
            str(info.get("url_private_download") or ""),
            name,
            allowed=lambda url: file_url_allowed(url, self.service.settings.slack_api_url),
            timeout=FETCH_SECONDS,
            headers={"Authorization": f"Bearer {self.client.token}"},  # only ever to Slack's file host
            size=max(size, 0),
        )

    async def _post(self, where: Where, replies: list[Reply]) -> None:
        """Dialog replies go to the user's DM; others go where they asked, privately if that is a channel."""
        moved = exported = False
        for reply in replies:
            if reply.file:
                # A file (an export) is private to the person who asked: always their DM.
                await self._file_to_dm(where.user_id, reply)
                exported = exported or not where.in_dm
            elif where.in_dm or reply.private:
                await self._to_dm(where.user_id, reply)
                moved = moved or not where.in_dm
            else:
                await self._ephemeral(where, reply)
            if reply.image:
                # A chart goes up as an image file in the asker's DM (Slack shows it inline), beside the numbers.
                await self._image_to_dm(where.user_id, reply)
                exported = exported or not where.in_dm
        if moved:
            await self._ephemeral(where, say("I've sent your EOI to our direct messages: carry on there."))
        if exported:
            await self._ephemeral(where, say("I've sent the file to our direct messages."))

    async def _to_dm(self, user_id: str, reply: Reply) -> None:
        text, blocks = kit.render(reply)
        try:
            # A user id as the channel posts in the app's DM with that user (no im:write needed).
            await self.client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
        except SlackApiError as error:
            log.warning("chat.postMessage to %s failed: %s", user_id, error.response.get("error"))

    async def _file_to_dm(self, user_id: str, reply: Reply) -> None:
        """Upload the reply's file to the DM with this person (files:write), the reply's text as its comment.
        If Slack refuses the upload (an install from before files:write, say), the file is shown in the
        message instead, as far as it fits."""
        assert reply.file is not None
        name, content = reply.file
        try:
            await self.client.files_upload_v2(
                channel=await dm_channel(self.client, user_id),
                filename=name,
                title=name,
                **upload(content),
                initial_comment=kit.mrkdwn(reply.text),
            )
        except (SlackApiError, SlackRequestError, aiohttp.ClientError, OSError) as error:
            log.warning("uploading %s to %s failed (%s); showing it in the message", name, user_id, error)
            await self._to_dm(user_id, reply)

    async def _image_to_dm(self, user_id: str, reply: Reply) -> None:
        """Upload the reply's picture (PNG) to the DM with this person, described for screen readers."""
        assert reply.image is not None
        name, encoded, description = reply.image
        try:
            await self.client.files_upload_v2(
                channel=await dm_channel(self.client, user_id),
                filename=name,
                title=reply.title or name,
                content=base64.b64decode(encoded),
                alt_txt=description[:1000],
            )
        except (SlackApiError, SlackRequestError, aiohttp.ClientError, OSError) as error:
            log.warning("uploading %s to %s failed (%s); the numbers were sent without it", name, user_id, error)

    async def _ephemeral(self, where: Where, reply: Reply) -> None:
        text, blocks = kit.render(reply)
        try:
            if where.response_url:
                response = await AsyncWebhookClient(where.response_url).send(
                    text=text, blocks=blocks, response_type="ephemeral", replace_original=False
                )
                if response.status_code == 200:
                    return
                log.warning("response_url answered %s", response.status_code)
            await self.client.chat_postEphemeral(channel=where.channel_id, user=where.user_id, text=text, blocks=blocks)
        except (SlackApiError, aiohttp.ClientError, OSError) as error:
            log.warning("ephemeral reply to %s failed: %s", where.user_id, error)


def request_key(request: AsyncBoltRequest) -> str:
    """What makes a slash command, button press or form submission handled once: its signature, an HMAC of
    the request's timestamp and body. A replay carries the same one (changing either breaks it); every real
    request differs (its own timestamp, trigger_id and action_ts). Over Socket Mode there is no signature: the
    request's trigger_id is the key, else the envelope's id (bot.slack_socket_mode). Recorded with the turn, so
    a turn that dies before its commit leaves the key free."""
    signature = (request.headers.get("x-slack-signature") or [""])[0]
    if signature:
        return f"slack:request:{signature}"
    if request.mode != "socket_mode":
        return ""
    # Slack gives every slash command, button press and form submission its own trigger_id: the same one in a
    # second envelope (a new envelope id, as after a reconnect, or a replay) is the same request, handled once.
    trigger = request.body.get("trigger_id") if isinstance(request.body, dict) else None
    if isinstance(trigger, str) and trigger:
        return f"slack:trigger:{trigger}"
    envelope = (request.headers.get(ENVELOPE_HEADER) or [""])[0]
    return f"slack:envelope:{envelope}" if envelope else ""


def _starts(prefix: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(prefix))


def _where(body: dict[str, Any]) -> Where:
    user = str((body.get("user") or {}).get("id", ""))
    container = body.get("container") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    return Where(user_id=user, channel_id=channel, response_url=str(body.get("response_url") or ""))


def _well_formed(body: str, content_type: str) -> bool:
    """What Bolt would parse is an object of the shape Slack sends; anything else is a 400, not a crash."""
    if not body:
        return False
    try:
        if content_type.startswith("application/json") or body.lstrip().startswith("{"):
            data = json.loads(body)
        else:
            form = parse_qs(body, keep_blank_values=True)
            if "payload" not in form:
                return bool(form.get("command")) and bool(form.get("user_id"))
            data = json.loads(form["payload"][0])
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: thousands of nested `[`
        return False
    if not isinstance(data, dict) or not isinstance(data.get("type", ""), str):
        return False
    for key in ("user", "event", "view", "container", "state", "team", "channel", "message"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return False
    actions = data.get("actions")
    if actions is not None and not (isinstance(actions, list) and all(isinstance(a, dict) for a in actions)):
        return False
    # The fields we read from an event must have the types Slack gives them.
    event = data.get("event") or {}
    strings = ("type", "user", "text", "channel", "channel_type", "ts", "subtype", "bot_id")
    if any(event.get(key) is not None and not isinstance(event[key], str) for key in strings):
        return False
    return all(
        data.get(key) is None or isinstance(data[key], str) for key in ("event_id", "token", "team_id", "api_app_id")
    )


SLACK = web.AppKey("slack", SlackAdapter)


REPLY_RATE_LIMIT_RETRIES = 30


class CountedRateLimitRetries(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's wait-out-the-429 for replies within a turn, counting each 429 for /metrics (the dispatcher's
    proactive sends count theirs in send_failure)."""

    async def can_retry_async(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if response is not None and response.status_code == 429:
            metrics.RATE_LIMITED.labels("slack").inc()
        return await super().can_retry_async(state=state, request=request, response=response, error=error)


def attach_slack(app: web.Application, service: Service) -> SlackAdapter:
    """Serve Slack at POST /slack/events, or connect out over Socket Mode when SLACK_APP_TOKEN is set, and
    register the Slack sender."""
    settings = service.settings
    base_url = api_url(settings.slack_api_url)
    # Replies to a user's own turn wait out a 429 (bounded) so the answer still arrives, once. They are posted after
    # Slack's 200, so waiting holds nothing back; and a DM carrying a run of notices (an officer's, while colleagues
    # shortlist) is at Slack's one a second for as long as they last, each second taken by whichever post comes
    # first: three tries lost officers' answers there (found by the simulation), REPLY_RATE_LIMIT_RETRIES don't.
    # One connection pool for every Web API call: slack_sdk otherwise opens a new aiohttp session (and TCP
    # connection) per call, which was a fifth of a turn's time in the benchmark.
    http = SharedSession()
    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=base_url,
        retry_handlers=[CountedRateLimitRetries(max_retry_count=REPLY_RATE_LIMIT_RETRIES)],
        session=http,  # type: ignore[arg-type]
    )
    bolt = AsyncApp(
        client=client,
        logger=_bolt_logger(),
        signing_secret=settings.slack_signing_secret,
        # Listeners finish before Slack gets its 200; commands and buttons ack at once and work afterwards.
        process_before_response=True,
    )
    adapter = SlackAdapter(service, bolt, client, settings.slack_signing_secret)
    # Proactive sends never retry inside: the dispatcher owns retries and records failures.
    service.senders.append(
        SlackSender(
            AsyncWebClient(token=settings.slack_bot_token, base_url=base_url, retry_handlers=[], session=http),  # type: ignore[arg-type]
        )
    )
    app[SLACK] = adapter
    if settings.slack_socket_mode:
        connect_out(app, bolt, client, settings.slack_app_token)  # no inbound route: Slack is reached from here
    else:
        app.router.add_post("/slack/events", adapter.handle_http)
    app.on_shutdown.append(adapter.drain)
    app.on_cleanup.append(http.close_pool)
    return adapter


def _bolt_logger() -> logging.Logger:
    """Bolt's own logger, less one warning: it reads SLACK_BOT_TOKEN from the environment itself and warns
    that it goes unused when a client is given, which here carries that very token."""
    bolt_log = logging.getLogger("eoi-bot.slack.bolt")
    if not bolt_log.filters:
        bolt_log.addFilter(lambda record: "`token` will be unused" not in record.getMessage())
    return bolt_log


class SharedSession:
    """An aiohttp.ClientSession made on first use, inside the running loop (attach_slack runs before it)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    async def close_pool(self, _: web.Application | None = None) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
