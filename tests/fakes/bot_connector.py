"""A fake Bot Framework connector (the Teams ``serviceUrl``) on loopback.

It answers the v3 REST routes botbuilder's ConnectorClient calls and records every
activity the bot sends. No token endpoint: the bot under test runs in emulator mode
(empty ``MICROSOFT_APP_ID``), so requests carry no ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes import file_bodies

JsonDict = dict[str, Any]

ANY_CONVERSATION = "*"
TENANT_ID = "72f988bf-0000-4000-8000-2d7cd011db47"

# Teams error codes (https://learn.microsoft.com/microsoftteams/platform/bots/build-conversational-capability)
_ERROR_CODES = {
    400: "BadArgument",
    403: "BotNotInConversationRoster",
    404: "ConversationNotFound",
    412: "PreconditionFailed",
    413: "MessageSizeTooBig",
    429: "Throttled",
    500: "InternalServerError",
    502: "ServiceError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    remaining: int
    path_contains: str | None


class FakeBotConnector:
    """An aiohttp server that answers like ``https://smba.trafficmanager.net/{region}/``."""

    def __init__(self, *, max_activity_bytes: int = 100_000, tenant_id: str = TENANT_ID) -> None:
        self.max_activity_bytes = max_activity_bytes
        self.tenant_id = tenant_id
        # Delivered activities (2xx), oldest first.
        self.activities: list[JsonDict] = []
        # Every request, including refused ones: method, path, status, body.
        self.requests: list[JsonDict] = []
        # Conversations created through POST /v3/conversations.
        self.conversations: list[JsonDict] = []
        # team id -> its channels other than General (whose id is the team id), as GET /v3/teams/{id}/conversations
        # lists them.
        self.team_channels: dict[str, list[JsonDict]] = {}
        # Files PUT to upload_url() (OneDrive upload sessions offered with a file consent card): name -> bytes.
        self.uploads: dict[str, bytes] = {}
        # Files people sent the bot in personal chat, at download_url() (OneDrive's pre-authenticated links):
        # item -> bytes; bytes sent before the connection drops (mid-body), per item; and every download asked for
        # (item, path, headers), answered or not.
        self.sent_files: dict[str, bytes] = {}
        self._drop_after: dict[str, int] = {}
        self.downloads: list[JsonDict] = []
        # conversation id (or "*") -> member id -> TeamsChannelAccount JSON.
        self.members: dict[str, dict[str, JsonDict]] = {}
        self._failures: deque[_Failure] = deque()
        self._rate_limit: int | None = None
        self._sent_at: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.service_url = ""
        # Called with each activity as it is delivered (benchmarks wait on these instead of polling).
        self.listeners: list[Callable[[JsonDict], None]] = []

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening; returns the service URL ending in '/'."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        r = app.router
        r.add_post("/v3/conversations", self._create_conversation)
        r.add_post("/v3/conversations/{cid}/activities", self._send)
        r.add_post("/v3/conversations/{cid}/activities/history", self._history)
        r.add_post("/v3/conversations/{cid}/activities/{aid}", self._send)
        r.add_put("/v3/conversations/{cid}/activities/{aid}", self._update)
        r.add_delete("/v3/conversations/{cid}/activities/{aid}", self._delete)
        r.add_get("/v3/conversations/{cid}/members", self._get_members)
        r.add_get("/v3/conversations/{cid}/pagedmembers", self._get_paged_members)
        r.add_get("/v3/conversations/{cid}/members/{mid}", self._get_member)
        r.add_get("/v3/teams/{tid}", self._get_team)
        r.add_get("/v3/teams/{tid}/conversations", self._get_team_channels)
        r.add_put("/onedrive/upload/{name}", self._upload)
        r.add_get("/onedrive/download/{item}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.service_url = f"http://{bound_host}:{bound_port}/"
        return self.service_url

    async def stop(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotConnector:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ set-up helpers
    def add_member(
        self,
        conversation_id: str,
        member_id: str,
        email: str | None,
        upn: str | None = None,
        name: str = "Test User",
        *,
        aad_object_id: str | None = None,
        user_role: str = "user",
    ) -> JsonDict:
        """Register a member for GET members; ``conversation_id="*"`` matches any conversation."""
        given, _, surname = name.partition(" ")
        member: JsonDict = {
            "id": member_id,
            "name": name,
            "aadObjectId": aad_object_id or str(uuid.uuid5(uuid.NAMESPACE_URL, member_id)),
            "givenName": given,
            "surname": surname,
            "email": email,
            "userPrincipalName": upn if upn is not None else email,
            "tenantId": self.tenant_id,
            "userRole": user_role,
        }
        self.members.setdefault(conversation_id, {})[member_id] = member
        return member

    def fail_no_more(self) -> None:
        """Forget the failures fail_next asked for that have not happened yet."""
        self._failures.clear()

    def fail_next(
        self,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        *,
        path_contains: str | None = None,
    ) -> None:
        """Refuse the next ``times`` requests (optionally only paths containing a string)."""
        self._failures.append(_Failure(status, retry_after, times, path_contains))

    def enforce_rate_limit(self, per_second: int = 7) -> None:
        """Answer 429 when a conversation gets more than ``per_second`` sends in a second."""
        self._rate_limit = per_second

    # ------------------------------------------------------------------ inspection
    def activities_in(self, conversation_id: str) -> list[JsonDict]:
        """Delivered activities for one conversation (thread suffix ``;messageid=`` ignored)."""
        base = conversation_id.split(";")[0]
        return [a for a in self.activities if a["conversation_id"].split(";")[0] == base]

    def texts(self, conversation_id: str | None = None) -> list[str]:
        """``text`` of delivered send/reply activities (empty string for card-only ones)."""
        items = self.activities if conversation_id is None else self.activities_in(conversation_id)
        return [str(a["body"].get("text") or "") for a in items if a["kind"] in ("send", "reply")]

    async def wait_for(
        self, count: int = 1, timeout: float = 5.0, *, conversation_id: str | None = None
    ) -> list[JsonDict]:
        """Wait until at least ``count`` activities were delivered; returns them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.activities if conversation_id is None else self.activities_in(conversation_id)
            if len(found) >= count:
                return list(found)
            if loop.time() >= deadline:
                raise AssertionError(
                    f"expected {count} activities, got {len(found)} within {timeout}s; "
                    f"requests: {[(r['method'], r['path'], r['status']) for r in self.requests]}"
                )
            await asyncio.sleep(0.01)

    def upload_url(self, name: str) -> str:
        """A OneDrive-like upload session URL, as Teams puts in a file consent invoke's uploadInfo."""
        return f"{self.service_url}onedrive/upload/{name}"

    def file_consent_accepted(self, name: str) -> JsonDict:
        """The `value` of the invoke Teams sends when someone allows a file consent card (uploadInfo filled)."""
        return {
            "type": "fileUpload",
            "action": "accept",
            "uploadInfo": {
                "contentUrl": f"https://contoso.sharepoint.com/personal/user/Documents/Applications/EOI Bot/{name}",
                "name": name,
                "uploadUrl": self.upload_url(name),
                "uniqueId": f"01UNIQUE{len(self.uploads):04d}",
                "fileType": name.rsplit(".", 1)[-1],
            },
        }

    def download_url(self, item: str) -> str:
        """A OneDrive-like pre-authenticated download link, as Teams puts in a file.download.info attachment."""
        return f"{self.service_url}onedrive/download/{item}?tempauth=pre-authenticated"

    def file_sent(self, name: str, data: bytes, *, drop_after: int | None = None, url: str | None = None) -> JsonDict:
        """The attachment Teams puts on a message when someone sends the bot a file in personal chat; its
        downloadUrl serves `data` (cut off after `drop_after` bytes, the connection dropped, when given), unless
        `url` names somewhere else."""
        item = f"01ITEM{len(self.sent_files):04d}"
        self.sent_files[item] = data
        if drop_after is not None:
            self._drop_after[item] = drop_after
        file_type = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return {
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "contentUrl": f"https://contoso-my.sharepoint.com/personal/user/Documents/{name}",
            "name": name,
            "content": {"downloadUrl": url or self.download_url(item), "uniqueId": item, "fileType": file_type},
        }

    def reset(self) -> None:
        """Forget activities, requests, failures and limits (members are kept)."""
        self.activities.clear()
        self.requests.clear()
        self.uploads.clear()
        self.conversations.clear()
        self._failures.clear()
        self._sent_at.clear()
        self._rate_limit = None

    # ------------------------------------------------------------------ internals
    def _notify(self, activity: JsonDict) -> None:
        for listener in list(self.listeners):
            listener(activity)

    def _new_id(self) -> str:
        return str(1_700_000_000_000 + next(self._ids))

    def _log(self, request: web.Request, status: int, body: Any) -> None:
        self.requests.append({"method": request.method, "path": request.path, "status": status, "body": body})

    @staticmethod
    def _error(status: int, message: str, retry_after: int | None = None) -> web.Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = {"error": {"code": _ERROR_CODES.get(status, "ServiceError"), "message": message}}
        return web.json_response(body, status=status, headers=headers)

    def _injected(self, request: web.Request) -> web.Response | None:
        for failure in self._failures:
            if failure.path_contains is None or failure.path_contains in request.path:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                retry = failure.retry_after if failure.status in (429, 503) else None
                return self._error(failure.status, f"Injected failure {failure.status}", retry)
        return None

    def _throttled(self, conversation_id: str) -> web.Response | None:
        if self._rate_limit is None:
            return None
        now = time.monotonic()
        window = self._sent_at.setdefault(conversation_id, deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self._rate_limit:
            return self._error(429, "Too many requests", 1)
        window.append(now)
        return None

    async def _read_json(self, request: web.Request) -> tuple[JsonDict | None, int]:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            return None, len(raw)
        return (body if isinstance(body, dict) else None), len(raw)

    def _members_of(self, conversation_id: str) -> dict[str, JsonDict]:
        merged = dict(self.members.get(ANY_CONVERSATION, {}))
        merged.update(self.members.get(conversation_id.split(";")[0], {}))
        if conversation_id in self.members:
            merged.update(self.members[conversation_id])
        return merged

    # ------------------------------------------------------------------ handlers
    async def _send(self, request: web.Request) -> web.Response:
        cid = request.match_info["cid"]
        reply_to = request.match_info.get("aid")
        body, size = await self._read_json(request)
        refused = self._injected(request)
        if refused is None and body is None:
            refused = self._error(400, "Invalid activity JSON")
        if refused is None and size > self.max_activity_bytes:
            refused = self._error(413, "Message size too large")
        if refused is None:
            refused = self._throttled(cid)
        if refused is not None:
            self._log(request, refused.status, body)
            return refused
        assert body is not None
        activity_id = self._new_id()
        self.activities.append(
            {
                "kind": "reply" if reply_to else "send",
                "conversation_id": cid,
                "reply_to_id": reply_to or body.get("replyToId"),
                "activity_id": activity_id,
                "type": body.get("type"),
                "text": body.get("text"),
                "attachments": body.get("attachments") or [],
                "body": body,
                "size": size,
            }
        )
        self._log(request, 200, body)
        self._notify(self.activities[-1])
        return web.json_response({"id": activity_id})

    async def _upload(self, request: web.Request) -> web.Response:
        """A whole file in one PUT, as OneDrive's upload session takes it: Content-Range must match the body."""
        data = await request.read()
        refused = self._injected(request)
        expected = f"bytes 0-{len(data) - 1}/{len(data)}"
        if refused is None and request.headers.get("Content-Range") != expected:
            refused = self._error(400, f"Content-Range should be {expected!r}")
        if refused is not None:
            self._log(request, refused.status, {"length": len(data)})
            return refused
        self.uploads[request.match_info["name"]] = data
        self._log(request, 201, {"length": len(data)})
        return web.json_response({"id": "01ITEM", "name": request.match_info["name"], "size": len(data)}, status=201)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """A sent file's bytes, as its pre-authenticated link serves them (no token asked for)."""
        item = request.match_info["item"]
        self.downloads.append({"item": item, "path": request.path_qs, "headers": dict(request.headers)})
        data = self.sent_files.get(item)
        if data is None:
            self._log(request, 404, {"item": item})
            return self._error(404, "itemNotFound")
        self._log(request, 200, {"item": item, "length": len(data)})
        return await file_bodies.serve(request, data, drop_after=self._drop_after.get(item))

    async def _update(self, request: web.Request) -> web.Response:
        cid, aid = request.match_info["cid"], request.match_info["aid"]
        body, size = await self._read_json(request)
        refused = self._injected(request)
        if refused is None and body is None:
            refused = self._error(400, "Invalid activity JSON")
        if refused is None and size > self.max_activity_bytes:
            refused = self._error(413, "Message size too large")
        if refused is not None:
            self._log(request, refused.status, body)
            return refused
        assert body is not None
        self.activities.append(
            {
                "kind": "update",
                "conversation_id": cid,
                "reply_to_id": body.get("replyToId"),
                "activity_id": aid,
                "type": body.get("type"),
                "text": body.get("text"),
                "attachments": body.get("attachments") or [],
                "body": body,
                "size": size,
            }
        )
        self._log(request, 200, body)
        self._notify(self.activities[-1])
        return web.json_response({"id": aid})

    async def _delete(self, request: web.Request) -> web.Response:
        refused = self._injected(request)
        if refused is not None:
            self._log(request, refused.status, None)
            return refused
        cid, aid = request.match_info["cid"], request.match_info["aid"]
        self.activities.append(
            {
                "kind": "delete",
                "conversation_id": cid,
                "reply_to_id": None,
                "activity_id": aid,
                "type": None,
                "text": None,
                "attachments": [],
                "body": {},
                "size": 0,
            }
        )
        self._log(request, 200, None)
        return web.Response(status=200)

    async def _history(self, request: web.Request) -> web.Response:
        body, _ = await self._read_json(request)
        self._log(request, 200, body)
        return web.json_response({"id": self._new_id()})

    async def _create_conversation(self, request: web.Request) -> web.Response:
        body, _ = await self._read_json(request)
        refused = self._injected(request)
        if refused is None and (body is None or not (body.get("members") or body.get("channelData"))):
            refused = self._error(400, "Invalid conversation parameters")
        if refused is not None:
            self._log(request, refused.status, body)
            return refused
        assert body is not None
        activity = body.get("activity")
        channel = ((body.get("channelData") or {}).get("channel") or {}).get("id")
        response: JsonDict
        if body.get("isGroup") and channel:
            # Posting a new thread to a channel: Teams answers with the thread id.
            activity_id = self._new_id()
            conversation_id = f"{channel};messageid={activity_id}"
            response = {"id": conversation_id, "activityId": activity_id}
        else:
            conversation_id = "a:1" + uuid.uuid4().hex
            response = {"id": conversation_id}
        for member in body.get("members") or []:
            member_id = str(member.get("id", ""))
            known = self._members_of(ANY_CONVERSATION).get(member_id)
            for per_conv in self.members.values():
                known = known or per_conv.get(member_id)
            self.members.setdefault(conversation_id, {})[member_id] = known or dict(member)
        self.conversations.append({"id": conversation_id, "parameters": body})
        if activity:
            self.activities.append(
                {
                    "kind": "create",
                    "conversation_id": conversation_id,
                    "reply_to_id": None,
                    "activity_id": response.get("activityId") or self._new_id(),
                    "type": activity.get("type"),
                    "text": activity.get("text"),
                    "attachments": activity.get("attachments") or [],
                    "body": activity,
                    "size": len(json.dumps(activity)),
                }
            )
        self._log(request, 200, body)
        return web.json_response(response, status=200)

    async def _get_members(self, request: web.Request) -> web.Response:
        refused = self._injected(request)
        if refused is not None:
            self._log(request, refused.status, None)
            return refused
        members = list(self._members_of(request.match_info["cid"]).values())
        self._log(request, 200, None)
        return web.json_response(members)

    async def _get_paged_members(self, request: web.Request) -> web.Response:
        refused = self._injected(request)
        if refused is not None:
            self._log(request, refused.status, None)
            return refused
        members = list(self._members_of(request.match_info["cid"]).values())
        self._log(request, 200, None)
        return web.json_response({"members": members, "continuationToken": None})

    async def _get_member(self, request: web.Request) -> web.Response:
        refused = self._injected(request)
        if refused is not None:
            self._log(request, refused.status, None)
            return refused
        member = self._members_of(request.match_info["cid"]).get(request.match_info["mid"])
        if member is None:
            self._log(request, 404, None)
            return web.json_response(
                {
                    "error": {
                        "code": "MemberNotFoundInConversation",
                        "message": "The member could not be found.",
                    }
                },
                status=404,
            )
        self._log(request, 200, None)
        return web.json_response(member)

    async def _get_team(self, request: web.Request) -> web.Response:
        tid = request.match_info["tid"]
        self._log(request, 200, None)
        return web.json_response(
            {"id": tid, "name": "Test Team", "aadGroupId": str(uuid.uuid5(uuid.NAMESPACE_URL, tid))}
        )

    async def _get_team_channels(self, request: web.Request) -> web.Response:
        tid = request.match_info["tid"]
        self._log(request, 200, None)
        return web.json_response({"conversations": [{"id": tid, "name": None}, *self.team_channels.get(tid, [])]})
