"""A web chat channel, in tests only: the worked example of adding a platform (docs/ARCHITECTURE.md, "Adding a
platform"). A page posts JSON to POST /webchat/messages and gets the bot's replies in the response:

    {"user": "u1", "email": "...", "name": "...", "text": "start", "id": "m1"}
    {"user": "u1", "action": "<a button's action, as the reply gave it>", "id": "m2"}

It believes whoever posts (there is no platform to ask who someone is), so it is never mounted by the bot: a
real platform's channel must get the email from the platform, not the caller (see "Trust boundaries")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.service import Service
from bot.turn_runner import Inbound
from dialogs.actions import decode
from dialogs.replies import Reply
from dialogs.turns import Speaker
from storage import people
from tests.webchat.render import render

ROUTE = "/webchat/messages"
FIELDS = {"user", "email", "name", "text", "action", "id"}
ID_MAX = 100


@dataclass
class Exchange:
    """Where a turn is answered: the HTTP response being built, and who the request says is speaking."""

    speaker: Speaker
    replies: list[dict[str, Any]] = field(default_factory=list)


class WebChatChannel:
    platform = "webchat"

    def __init__(self, service: Service) -> None:
        self.service = service

    def attach(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.handle)
        # Its user ids, so `officer add webchat:…` and `link` know the platform (storage.people.ID_FORMATS).
        people.ID_FORMATS.setdefault(self.platform, re.compile(rf"[A-Za-z0-9._-]{{1,{ID_MAX}}}"))

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return problem("The body must be JSON.")
        inbound = read(body)
        if isinstance(inbound, str):
            return problem(inbound)
        replies = await self.service.runner.run(self, inbound)
        if replies is None:
            return web.json_response({"seen_before": True, "replies": []})
        return web.json_response({"seen_before": False, "replies": inbound.where.replies})

    async def identify(self, inbound: Inbound[Exchange]) -> Speaker:
        return inbound.where.speaker

    async def deliver(self, where: Exchange, replies: list[Reply]) -> None:
        where.replies.extend(render(r) for r in replies)


def read(body: Any) -> Inbound[Exchange] | str:
    """The request as an Inbound, or what is wrong with it."""
    if not isinstance(body, dict):
        return "The body must be a JSON object."
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return f"Unknown field(s): {', '.join(unknown)}. Send {', '.join(sorted(FIELDS))}."
    wrong = sorted(k for k, v in body.items() if not isinstance(v, str))
    if wrong:
        return f"These must be strings: {', '.join(wrong)}."
    user, text, action, key = (body.get(k, "") for k in ("user", "text", "action", "id"))
    if not user.strip():
        return 'Say who is speaking: "user" is missing.'
    if bool(text.strip()) == bool(action.strip()):
        return 'Send either "text" (typed words) or "action" (a button\'s action), not both or neither.'
    if len(key) > ID_MAX:
        return f'"id" is longer than {ID_MAX} characters.'
    speaker = Speaker("webchat", user, display_name=body.get("name", ""), email=body.get("email", ""))
    # A message id is the client's, so it is unique only per user: one user can't use up another's ids.
    key = f"webchat:{speaker.user_id}:{key}" if key else ""
    pressed = decode(action) if action.strip() else None  # a button's encoded action, refused if unreadable
    return Inbound(speaker.user_id, Exchange(speaker), text=text, action=pressed, key=key)


def problem(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)
