"""A fake Slack Web API on loopback, for end-to-end tests.

Point slack_sdk at it with ``base_url=await fake.start()`` (or ``SLACK_API_URL``).
Every request is recorded in ``calls``; answers follow Slack's documented shapes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import yaml
from aiohttp import web

from tests.fakes import file_bodies

JsonDict = dict[str, Any]

BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
TEAM_ID = "T0001"
APP_ID = "A0EOIBOT1"

MANIFEST = Path(__file__).resolve().parents[2] / "manifest" / "slack" / "manifest.yaml"
# The bot token has exactly the scopes the manifest asks for, so a call the manifest forgot fails here as it
# would in a real workspace.
BOT_SCOPES = frozenset(yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["oauth_config"]["scopes"]["bot"])
OAUTH_SCOPES = ",".join(sorted(BOT_SCOPES))
# The bot-token scope(s) each method needs (any one of them will do).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "users.info": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "files.info": ("files:read",),
    "reactions.add": ("reactions:write",),
}
HISTORY_SCOPES = {"C": "channels:history", "G": "groups:history", "D": "im:history"}

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100


@dataclass
class RecordedCall:
    """One request the fake received, and how it answered."""

    method: str
    args: JsonDict
    headers: dict[str, str]
    http_method: str = "POST"
    status: int = 200
    response: JsonDict = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        """True when the fake answered 200 with ``ok: true``."""
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    remaining: int
    error: str | None


class FakeSlackWebApi:
    """An aiohttp server that answers like https://slack.com/api/."""

    def __init__(
        self, *, team_id: str = TEAM_ID, bot_user_id: str = BOT_USER_ID, scopes: frozenset[str] = BOT_SCOPES
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        # The scopes the app was granted when installed (default: the manifest's); calls needing others fail.
        self.scopes = frozenset(scopes)
        # Tokens this workspace does not know (a typo, or an app that was reinstalled): answered invalid_auth.
        self.invalid_tokens: set[str] = set()
        self.calls: list[RecordedCall] = []
        self.users: dict[str, JsonDict] = {}
        self.responses: dict[str, list[JsonDict]] = {}
        self.messages: dict[tuple[str, str], JsonDict] = {}
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes POSTed to its upload URL
        self.files: dict[str, JsonDict] = {}  # file id -> the shared file (channel, name, title, content)
        # Files people sent (add_user_file): file id -> files.info's object, and the bytes its download serves.
        self.user_files: dict[str, JsonDict] = {}
        self.user_file_bytes: dict[str, bytes] = {}
        self._drop_after: dict[str, int] = {}  # file id -> bytes sent before its download's connection drops
        self._file_counter = itertools.count(1)
        self._failures: dict[str, list[_Failure]] = {}
        self._rate_limit_seconds: float | None = None
        self._last_post: dict[str, float] = {}
        self._burst = 1
        self._tokens: dict[str, float] = {}  # per channel: posts it may make now (a token bucket, up to _burst)
        self._random_429: tuple[float, random.Random, tuple[str, ...], int] | None = None
        self._last_ts = 0  # microseconds
        self._view_counter = itertools.count(1)
        self._ts_base = int(time.time())
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        # Called with each call once it has been answered (benchmarks wait on these instead of polling).
        self.listeners: list[Callable[[RecordedCall], None]] = []
        # Socket Mode: apps.connections.open answers with the WebSocket URL this gives (a FakeSocketMode's).
        self.socket_mode_url: Callable[[], str] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening; returns the base URL ending in '/' (slack_sdk ``base_url``)."""
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/response/{name}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._handle_download)
        app.router.add_route("*", "/{method}", self._handle_api)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}/"
        return self.base_url

    async def stop(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlackWebApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ set-up helpers
    def add_user(
        self,
        user_id: str,
        email: str | None = None,
        real_name: str = "Test User",
        *,
        tz: str = "Europe/London",
        is_bot: bool = False,
        deleted: bool = False,
    ) -> JsonDict:
        """Register a user that ``users.info`` will return."""
        name = real_name.lower().replace(" ", ".") or user_id.lower()
        profile: JsonDict = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": real_name.split(" ")[0] if real_name else "",
            "display_name_normalized": real_name.split(" ")[0] if real_name else "",
            "first_name": real_name.split(" ")[0] if real_name else "",
            "last_name": " ".join(real_name.split(" ")[1:]),
            "team": self.team_id,
        }
        if email is not None:
            profile["email"] = email
        user: JsonDict = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real_name,
            "tz": tz,
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": self._ts_base,
        }
        self.users[user_id] = user
        return user

    def add_user_file(
        self,
        name: str,
        data: bytes,
        *,
        user: str = "",
        size: int | None = None,
        drop_after: int | None = None,
        mimetype: str = "application/octet-stream",
    ) -> JsonDict:
        """A file someone sent: files.info describes it (`size` as Slack declares it, the bytes' length unless
        given) and its url_private_download serves `data` (cut off after `drop_after` bytes, the connection
        dropped, when given). Returns the object a file_share event carries in its `files`."""
        file_id = f"F{next(self._file_counter):09d}"
        url = f"{self.base_url}files-pri/{self.team_id}-{file_id}/download/{quote(name)}"
        self.user_files[file_id] = {
            "id": file_id,
            "created": self._ts_base,
            "timestamp": self._ts_base,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1].lower() if "." in name else "binary",
            "user": user,
            "user_team": self.team_id,
            "size": len(data) if size is None else size,
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "url_private": url.replace("/download/", "/"),
            "url_private_download": url,
        }
        self.user_file_bytes[file_id] = data
        if drop_after is not None:
            self._drop_after[file_id] = drop_after
        return dict(self.user_files[file_id])

    def fail_no_more(self) -> None:
        """Forget the failures fail_next asked for that have not happened yet."""
        self._failures.clear()

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail with ``status``.

        429 answers carry ``Retry-After: retry_after`` and ``{"ok":false,"error":"ratelimited"}``.
        Status 200 with ``error`` answers ``{"ok": false, "error": error}``.
        Use method ``"response_url"`` to fail posts to response URLs.
        """
        self._failures.setdefault(method, []).append(
            _Failure(status=status, retry_after=retry_after, remaining=times, error=error)
        )

    def enforce_rate_limit(self, per_channel_seconds: float = 1.0, burst: int = 1) -> None:
        """Answer 429 to chat.postMessage to a channel posted to less than this ago; with `burst`, that many
        posts in a row are let through first ("short bursts of more than 1 allowed", as Slack documents)."""
        self._rate_limit_seconds = per_channel_seconds
        self._burst = burst

    def random_429_fraction(
        self,
        p: float,
        seed: int = 0,
        methods: tuple[str, ...] = ("chat.postMessage",),
        retry_after: int = 1,
    ) -> None:
        """Answer a seeded random fraction ``p`` of calls to ``methods`` with 429."""
        self._random_429 = (p, random.Random(seed), methods, retry_after) if p > 0 else None

    def response_url(self, name: str) -> str:
        """A URL on this fake whose POSTed JSON bodies land in ``responses[name]``."""
        if not self.base_url:
            raise RuntimeError("start() the fake first")
        return f"{self.base_url}response/{name}"

    # ------------------------------------------------------------------ inspection
    def calls_to(self, method: str, *, ok_only: bool = False) -> list[JsonDict]:
        """Arguments of every call to ``method`` (only successful ones with ``ok_only``)."""
        return [c.args for c in self.calls if c.method == method and (c.ok or not ok_only)]

    def recorded(self, method: str) -> list[RecordedCall]:
        """Full records of every call to ``method``."""
        return [c for c in self.calls if c.method == method]

    def downloads(self, file_id: str | None = None) -> list[RecordedCall]:
        """Every request for a sent file's bytes (of this file), answered or not, oldest first."""
        return [c for c in self.calls if c.method == "download" and file_id in (None, c.args.get("file_id"))]

    def shared_files(self, channel: str) -> list[JsonDict]:
        """Files shared in this channel (or DM id), oldest first."""
        return [f for f in self.files.values() if f.get("channel") == channel]

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, *, ok_only: bool = False
    ) -> list[JsonDict]:
        """Wait until ``method`` was called at least ``count`` times; returns their args."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.calls_to(method, ok_only=ok_only)
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() >= deadline:
                seen = sorted({c.method for c in self.calls})
                raise AssertionError(
                    f"expected {count} call(s) to {method}, got {len(found)} within {timeout}s; methods seen: {seen}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_response(self, name: str, count: int = 1, timeout: float = 5.0) -> list[JsonDict]:
        """Wait until ``count`` bodies were POSTed to ``response_url(name)``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.responses.get(name, [])) < count:
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(
                    f"expected {count} post(s) to response URL {name!r}, got {len(self.responses.get(name, []))}"
                )
            await asyncio.sleep(0.01)
        return self.responses[name]

    def reset(self) -> None:
        """Forget recorded calls, responses, failures and limits (users are kept)."""
        self.calls.clear()
        self.responses.clear()
        self.messages.clear()
        self.uploads.clear()
        self.files.clear()
        self._failures.clear()
        self._last_post.clear()
        self._tokens.clear()
        self._rate_limit_seconds, self._burst = None, 1
        self._random_429 = None

    # ------------------------------------------------------------------ HTTP handlers
    async def _handle_response_url(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_raw": raw}
        headers = dict(request.headers)
        failed = self._take_failure("response_url")
        if failed is not None:
            record = RecordedCall("response_url", {"name": name, **body}, headers, request.method, failed.status)
            self.calls.append(record)
            self._notify(record)
            return failed
        self.responses.setdefault(name, []).append(body)
        record = RecordedCall("response_url", {"name": name, **body}, headers, request.method, 200, {"ok": True})
        self.calls.append(record)
        self._notify(record)
        return web.json_response({"ok": True})

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """Step 2 of files.upload v2: the file's bytes POSTed to the URL files.getUploadURLExternal gave."""
        file_id = request.match_info["file_id"]
        data = await request.read()
        record = RecordedCall("upload", {"file_id": file_id, "length": len(data)}, dict(request.headers))
        self.calls.append(record)
        if file_id not in self.uploads:
            record.status = 404
            self._notify(record)
            return web.Response(status=404, text="unknown upload")
        self.uploads[file_id] = data
        record.status, record.response = 200, {"ok": True}
        self._notify(record)
        return web.Response(text=f"OK - {len(data)}")

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        """A sent file's url_private_download. As Slack: without a bot token that may read files (files:read) the
        answer is its sign-in page, 200 and HTML, not the file."""
        file_id = request.match_info["team_file"].rpartition("-")[2]
        token = _bearer(dict(request.headers))
        record = RecordedCall("download", {"file_id": file_id}, dict(request.headers), "GET")
        self.calls.append(record)
        data = self.user_file_bytes.get(file_id)
        if data is None:
            record.status = 404
            self._notify(record)
            return web.Response(status=404, text="file not found")
        allowed = token.startswith(("xoxb-", "xoxp-")) and token not in self.invalid_tokens
        if not allowed or "files:read" not in self.scopes:
            record.status, record.response = 200, {"ok": False, "error": "sign-in page"}
            self._notify(record)
            return web.Response(text="<html><body>Sign in to Slack</body></html>", content_type="text/html")
        record.status, record.response = 200, {"ok": True, "length": len(data)}
        self._notify(record)
        return await file_bodies.serve(request, data, drop_after=self._drop_after.get(file_id))

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _parse_args(request)
        headers = dict(request.headers)
        record = RecordedCall(method, args, headers, request.method)
        self.calls.append(record)

        token = _bearer(headers) or str(args.get("token", ""))
        if not token:
            return self._answer(record, {"ok": False, "error": "not_authed"})
        if (method == "apps.connections.open") != token.startswith("xapp-"):
            # Only an app-level token opens a Socket Mode connection, and it is good for nothing else.
            return self._answer(record, {"ok": False, "error": "not_allowed_token_type"})
        if method == "apps.connections.open":
            if self.socket_mode_url is None:
                return self._answer(record, {"ok": False, "error": "invalid_auth"})
            return self._answer(record, {"ok": True, "url": self.socket_mode_url()})
        if not token.startswith(("xoxb-", "xoxp-")) or token in self.invalid_tokens:
            return self._answer(record, {"ok": False, "error": "invalid_auth"})

        needed = self._missing_scope(method, args)
        if needed:
            return self._answer(
                record, {"ok": False, "error": "missing_scope", "needed": needed, "provided": self._granted()}
            )

        failed = self._take_failure(method)
        if failed is not None:
            record.status = failed.status
            try:
                record.response = json.loads(failed.text or "{}")
            except json.JSONDecodeError:
                record.response = {}
            self._notify(record)
            return failed

        limited = self._rate_limited(method, args)
        if limited is not None:
            record.status = 429
            record.response = {"ok": False, "error": "ratelimited"}
            self._notify(record)
            return web.json_response(record.response, status=429, headers={"Retry-After": str(limited)})

        handler = self._handlers().get(method)
        body = handler(args) if handler is not None else {"ok": True}
        return self._answer(record, body)

    # ------------------------------------------------------------------ internals
    def _notify(self, record: RecordedCall) -> None:
        for listener in list(self.listeners):
            listener(record)

    def _answer(self, record: RecordedCall, body: JsonDict) -> web.Response:
        record.status = 200
        record.response = body
        self._notify(record)
        return web.json_response(body, headers={"X-OAuth-Scopes": self._granted()})

    def _granted(self) -> str:
        return ",".join(sorted(self.scopes))

    def _missing_scope(self, method: str, args: JsonDict) -> str | None:
        """The scope this call needs and the token lacks, if any."""
        if method == "conversations.history":
            wanted: tuple[str, ...] = (HISTORY_SCOPES.get(str(args.get("channel", ""))[:1], "channels:history"),)
        else:
            wanted = METHOD_SCOPES.get(method, ())
        if wanted and not self.scopes.intersection(wanted):
            return ",".join(wanted)
        return None

    def _take_failure(self, method: str) -> web.Response | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        headers: dict[str, str] = {}
        if failure.retry_after is not None and failure.status == 429:
            headers["Retry-After"] = str(failure.retry_after)
        if failure.status == 429:
            body: JsonDict = {"ok": False, "error": failure.error or "ratelimited"}
        elif failure.status >= 500:
            body = {"ok": False, "error": failure.error or "internal_error"}
        else:
            body = {"ok": False, "error": failure.error or "fatal_error"}
        return web.json_response(body, status=failure.status, headers=headers)

    def _rate_limited(self, method: str, args: JsonDict) -> int | None:
        """Seconds to wait if this call should be rate limited, else None."""
        if self._random_429 is not None:
            p, rng, methods, retry_after = self._random_429
            if method in methods and rng.random() < p:
                return retry_after
        if method == "chat.postMessage" and self._rate_limit_seconds is not None:
            channel, every = str(args.get("channel", "")), self._rate_limit_seconds
            now = time.monotonic()
            last = self._last_post.get(channel)
            tokens = float(self._burst) if last is None else self._tokens[channel] + (now - last) / every
            tokens = min(float(self._burst), tokens)
            if tokens < 1:
                return max(1, math.ceil((1 - tokens) * every))
            self._tokens[channel], self._last_post[channel] = tokens - 1, now
        return None

    def _handlers(self) -> dict[str, Any]:
        return {
            "api.test": lambda a: {"ok": True, "args": a},
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.info": self._files_info,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": lambda a: self._view(a, "views.open"),
            "views.push": lambda a: self._view(a, "views.push"),
            "views.update": lambda a: self._view(a, "views.update"),
            "views.publish": lambda a: self._view(a, "views.publish"),
        }

    def _next_ts(self) -> str:
        """A message's ts, as Slack gives it: when it was posted (seconds and microseconds), unique in the
        workspace, so `oldest` in conversations.history means what it means on Slack."""
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _auth_test(self, _: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": "https://eoi-test.slack.com/",
            "team": "EOI Test Workspace",
            "user": "eoi-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _resolve_channel(self, channel: str) -> str:
        # Posting to a user id delivers to the app's DM with that user.
        if channel[:1] in ("U", "W"):
            return "D" + channel
        return channel

    def _check_message(self, args: JsonDict) -> JsonDict | None:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        blocks = _as_list(args.get("blocks"))
        if blocks is None and args.get("blocks") not in (None, ""):
            return {"ok": False, "error": "invalid_blocks_format"}
        if blocks is not None and len(blocks) > MAX_MESSAGE_BLOCKS:
            return {
                "ok": False,
                "error": "invalid_blocks",
                "errors": [f"must provide no more than {MAX_MESSAGE_BLOCKS} items [json-pointer:/blocks]"],
                "response_metadata": {
                    "messages": [f"[ERROR] must provide no more than {MAX_MESSAGE_BLOCKS} items [json-pointer:/blocks]"]
                },
            }
        if not args.get("text") and not blocks and not args.get("attachments"):
            return {"ok": False, "error": "no_text"}
        return None

    def _message(self, args: JsonDict, ts: str) -> JsonDict:
        message: JsonDict = {
            "user": self.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": args.get("text", ""),
            "team": self.team_id,
            "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "EOI Bot", "team_id": self.team_id},
        }
        blocks = _as_list(args.get("blocks"))
        if blocks is not None:
            message["blocks"] = blocks
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        return message

    def _chat_post_message(self, args: JsonDict) -> JsonDict:
        problem = self._check_message(args)
        if problem:
            return problem
        channel = self._resolve_channel(str(args["channel"]))
        ts = self._next_ts()
        message = self._message(args, ts)
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _conversations_history(self, args: JsonDict) -> JsonDict:
        """Newest first, like Slack; only messages after `oldest` when given (exclusive, as Slack's default);
        pages of `limit` with a `next_cursor`; metadata only when include_all_metadata is asked for."""
        channel = str(args.get("channel") or "")
        oldest = float(args.get("oldest") or 0)
        found = [m for (c, _), m in self.messages.items() if c == channel and float(m["ts"]) > oldest]
        found.sort(key=lambda m: m["ts"], reverse=True)
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        page = found[start : start + limit]
        messages = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = len(found) > start + limit
        return {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        problem = self._check_message(args)
        if problem:
            return problem
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, args: JsonDict) -> JsonDict:
        problem = self._check_message(args)
        if problem:
            return problem
        channel = str(args["channel"])
        ts = str(args.get("ts", ""))
        if (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        message = self._message(args, ts)
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_delete(self, args: JsonDict) -> JsonDict:
        channel = str(args.get("channel", ""))
        ts = str(args.get("ts", ""))
        if self.messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _conversations_open(self, args: JsonDict) -> JsonDict:
        if args.get("channel"):
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": args["channel"]}}
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel_id = "D" + users[0] if len(users) == 1 else "G" + "".join(sorted(users))[:10]
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel_id}}

    def _files_get_upload_url(self, args: JsonDict) -> JsonDict:
        if not args.get("filename"):
            return _invalid_arguments("missing required field: filename")
        try:
            length = int(args.get("length", ""))
        except ValueError:
            return _invalid_arguments("missing required field: length")
        file_id = f"F{next(self._file_counter):09d}"
        self.uploads[file_id] = b""
        self.files[file_id] = {"id": file_id, "name": str(args["filename"]), "length": length}
        return {"ok": True, "upload_url": f"{self.base_url}upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: JsonDict) -> JsonDict:
        """Share the uploaded files in `channel_id`, with `initial_comment` as the message, as Slack does."""
        listed = _as_list(args.get("files"))
        if not listed:
            return _invalid_arguments("missing required field: files")
        channel = str(args.get("channel_id") or "")
        shared: list[JsonDict] = []
        for item in listed:
            file_id = str(item.get("id", "")) if isinstance(item, dict) else ""
            meta = self.files.get(file_id)
            if meta is None:
                return {"ok": False, "error": "file_not_found"}
            data = self.uploads.get(file_id, b"")
            if len(data) != meta["length"]:
                return {"ok": False, "error": "file_upload_size_mismatch"}
            meta.update(
                title=item.get("title") or meta["name"],
                content=data.decode("utf-8", errors="replace"),
                channel=channel,
                initial_comment=str(args.get("initial_comment") or ""),
            )
            shared.append({"id": file_id, "name": meta["name"], "title": meta["title"], "size": len(data)})
        if channel:
            ts = self._next_ts()
            message = self._message({"text": args.get("initial_comment") or ""}, ts)
            message["files"] = shared
            self.messages[(channel, ts)] = message
        return {"ok": True, "files": shared}

    def _files_info(self, args: JsonDict) -> JsonDict:
        """A file someone sent (add_user_file), as files.info describes it."""
        found = self.user_files.get(str(args.get("file", "")))
        if found is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": dict(found), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _users_info(self, args: JsonDict) -> JsonDict:
        user = self.users.get(str(args.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _users_lookup_by_email(self, args: JsonDict) -> JsonDict:
        email = str(args.get("email", "")).lower()
        for user in self.users.values():
            if str(user["profile"].get("email", "")).lower() == email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _view(self, args: JsonDict, method: str) -> JsonDict:
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except json.JSONDecodeError:
                view = None
        if not isinstance(view, dict):
            return _invalid_arguments("missing required field: view")
        if method in ("views.open", "views.push") and not args.get("trigger_id"):
            return _invalid_arguments("missing required field: trigger_id")
        if method == "views.publish" and not args.get("user_id"):
            return _invalid_arguments("missing required field: user_id")
        if method == "views.update" and not (args.get("view_id") or args.get("external_id")):
            return _invalid_arguments("missing required field: view_id")
        blocks = view.get("blocks") or []
        if len(blocks) > MAX_VIEW_BLOCKS:
            return {"ok": False, "error": "invalid_arguments"}
        view_id = str(args.get("view_id") or f"V{next(self._view_counter):09d}")
        default_type = "home" if method == "views.publish" else "modal"
        full: JsonDict = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", default_type),
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{view_id[-8:]}",
            "title": view.get("title"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", args.get("external_id", "")),
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        return {"ok": True, "view": full}


def _invalid_arguments(message: str) -> JsonDict:
    return {
        "ok": False,
        "error": "invalid_arguments",
        "response_metadata": {"messages": [f"[ERROR] {message}"]},
    }


def _bearer(headers: dict[str, str]) -> str:
    for key, value in headers.items():
        if key.lower() == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer ") :].strip()
    return ""


def _as_list(value: Any) -> list[Any] | None:
    """Blocks arrive as a list (JSON body) or a JSON string (form body)."""
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


async def _parse_args(request: web.Request) -> JsonDict:
    """Merge query string, form and JSON body arguments, as Slack does."""
    args: JsonDict = dict(request.query)
    raw = await request.text()
    if not raw:
        return args
    content_type = request.headers.get("Content-Type", "")
    if "json" in content_type or raw.lstrip().startswith("{"):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            args.update(parsed)
            return args
    args.update(dict(parse_qsl(raw, keep_blank_values=True)))
    return args
