"""The two chat platforms and email as the simulation sees them: the fakes the service talks to (fake Slack Web
API, fake Bot Connector, a local SMTP server), the load balancer in front of the service's replicas, and the
people's side (signed Slack requests into /slack/events, Teams activities into
/api/messages). Every message the bot sends to a person lands in that person's inbox here; every Slack request's
acknowledgement time is recorded (Slack gives up after 3 seconds)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiosmtpd.controller import Controller

from tests.fakes import slack_requests as sr
from tests.fakes import teams_activities as ta
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_web_api import FakeSlackWebApi, RecordedCall
from tests.fakes.smtp_server import Handler, Inbox, free_port

SECRET = "sim-signing-secret-0123456789abcdef"
TOKEN = "xoxb-sim"
SLACK_ACK_SECONDS = 3.0


@dataclass
class Heard:
    """One message the bot sent to someone: its words (text and rendered buttons), and the buttons to press."""

    text: str
    buttons: list[dict[str, Any]]  # {"label", "slack": (action_id, value)} or {"label", "teams": data}
    at: float = field(default_factory=time.monotonic)
    proactive: bool = False  # a notice the dispatcher sent, not a reply to what this person just said
    _prompt: str | None = None
    _read: bool = False

    def prompt(self, reader: Any) -> str | None:
        """What this message asks (read once: the heads poll their inbox often)."""
        if not self._read:
            self._prompt, self._read = reader(self.text), True
        return self._prompt


def _walk(node: Any):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def slack_heard(args: dict[str, Any]) -> Heard:
    blocks = args.get("blocks")
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except json.JSONDecodeError:
            blocks = []
    buttons = [
        {"label": str(node.get("text", {}).get("text", "")), "slack": (node.get("action_id"), node.get("value"))}
        for node in _walk(blocks or [])
        if node.get("type") == "button"
    ]
    text = str(args.get("text", "")) + "\n" + json.dumps(blocks or [], ensure_ascii=False)
    return Heard(text, buttons)


def teams_heard(body: dict[str, Any]) -> Heard:
    buttons = [
        {"label": str(node.get("title", "")), "teams": node.get("data") or {}}
        for node in _walk(body.get("attachments") or [])
        if node.get("type") == "Action.Submit"
    ]
    return Heard(
        str(body.get("text") or "") + "\n" + json.dumps(body.get("attachments") or [], ensure_ascii=False), buttons
    )


class Platforms:
    """The fakes, everyone's inboxes, and how people's messages reach the service."""

    def __init__(self) -> None:
        self.slack = FakeSlackWebApi()
        self.teams = FakeBotConnector()
        self.inbox: dict[str, list[Heard]] = defaultdict(list)  # "slack:U…" / "msteams:29:…" -> messages
        self.arrived = asyncio.Event()
        self.ack_seconds: list[float] = []
        self.ack_log: list[tuple[float, float]] = []  # (monotonic time it arrived, seconds to the ack)
        self.slow_acks: list[str] = []
        self.requests = 0
        # What each Teams conversation heard when the bot was installed (its greeting): not a delivery.
        self.teams_greetings: Counter[str] = Counter()
        self.targets: Callable[[], list[str]] = list  # the replicas up now (sim.service.Service.urls)
        self._next = 0  # round robin over them
        self.mail = Inbox()  # what the SMTP server accepted
        self._smtp: Controller | None = None
        self.smtp_url = ""
        self._teams_people: dict[str, str] = {}  # personal conversation id -> user id
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        await self.slack.start()
        await self.teams.start()
        self.slack.listeners.append(self._slack_call)
        self.teams.listeners.append(self._teams_activity)
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(30))
        port = free_port()
        self._smtp = Controller(Handler(self.mail), hostname="127.0.0.1", port=port)
        self._smtp.start()
        self.smtp_url = f"smtp://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.http:
            await self.http.close()
        if self._smtp:
            self._smtp.stop()
        await self.slack.stop()
        await self.teams.stop()

    # ---------------------------------------------------------------------------------------------- people
    def add_slack_person(self, user_id: str, email: str, name: str) -> None:
        self.slack.add_user(user_id, email, name)

    def add_teams_person(self, user_id: str, email: str, name: str) -> None:
        self.teams.add_member("*", user_id, email, name=name)
        self._teams_people[ta.personal_conversation_id(user_id)] = user_id

    # ---------------------------------------------------------------------------------------------- what arrives
    def _slack_call(self, call: RecordedCall) -> None:
        if not call.ok:
            return
        if call.method == "chat.postMessage":
            channel = str(call.args.get("channel", ""))
            person = channel[1:] if channel.startswith("D") else channel
            if person.startswith("U"):
                heard = slack_heard(call.args)
                heard.proactive = bool(call.args.get("metadata"))  # deliveries carry their key as metadata
                self.inbox[f"slack:{person}"].append(heard)
                self.arrived.set()
        elif call.method == "response_url":
            self.inbox[f"slack:{call.args.get('name')}"].append(slack_heard(call.args))
            self.arrived.set()

    def _teams_activity(self, activity: dict[str, Any]) -> None:
        user = self._teams_people.get(str(activity.get("conversation_id", "")).split(";")[0])
        if user:
            heard = teams_heard(activity["body"])
            heard.proactive = activity["kind"] == "send"  # a turn's replies answer the activity they reply to
            self.inbox[f"msteams:{user}"].append(heard)
            self.arrived.set()

    # ---------------------------------------------------------------------------------------------- sending
    async def _post(
        self, path: str, *, data: bytes | None = None, json_body: Any = None, headers: dict[str, str] | None = None
    ) -> int:
        """One request through the load balancer: to the next replica that is up; a refused connection (a replica
        just killed) goes to the next. Returns the status, or 0 when no replica answered (the caller decides
        whether to deliver again, as Slack and Teams do)."""
        assert self.http is not None
        self.requests += 1
        started = time.monotonic()
        urls = self.targets()
        status = 0
        for n in range(len(urls)):
            url = urls[(self._next + n) % len(urls)]
            try:
                async with self.http.post(url + path, data=data, json=json_body, headers=headers) as response:
                    await response.read()
                    status = response.status
                    break
            except aiohttp.ClientConnectorError:
                continue  # nothing was sent: the balancer tries the next replica
            except (TimeoutError, aiohttp.ClientError, OSError):
                return 0  # cut off mid-request (killed mid-turn)
        self._next += 1
        if status and path == "/slack/events":
            took = time.monotonic() - started
            self.ack_seconds.append(took)
            self.ack_log.append((started, took))
            if took > SLACK_ACK_SECONDS:
                self.slow_acks.append(f"{took:.2f}s")
        return status

    async def slack_message(
        self, user_id: str, text: str, *, body: str | None = None, retry: int | None = None
    ) -> tuple[int, str]:
        """A message typed in the user's DM with the bot (a `message.im` event). Returns the status and the body,
        so the same event can be delivered again (Slack's retries keep the event_id)."""
        body = body or sr.message_im_event_body(user_id, text)
        headers = sr.signed_headers(SECRET, body, retry_num=retry)
        return await self._post("/slack/events", data=body.encode(), headers=headers), body

    async def slack_press(self, user_id: str, action_id: str, value: str | None, label: str) -> tuple[int, str]:
        body = sr.block_actions_body(
            user_id, action_id, value, button_text=label[:75] or "Button", response_url=self.slack.response_url(user_id)
        )
        return await self._post("/slack/events", data=body.encode(), headers=sr.signed_headers(SECRET, body)), body

    async def slack_again(self, body: str, retry: int | None = 1) -> int:
        return await self._post(
            "/slack/events", data=body.encode(), headers=sr.signed_headers(SECRET, body, retry_num=retry)
        )

    async def teams_message(
        self, user_id: str, text: str, *, activity: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        activity = activity or ta.message_activity(text, user_id, f"Head {user_id}", service_url=self.teams.service_url)
        return await self._post("/api/messages", json_body=activity), activity

    async def teams_press(self, user_id: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        activity = ta.card_submit_activity(data, user_id, f"Head {user_id}", service_url=self.teams.service_url)
        return await self._post("/api/messages", json_body=activity), activity

    async def teams_again(self, activity: dict[str, Any]) -> int:
        return await self._post("/api/messages", json_body=activity)

    async def teams_install_team(self, channel_id: str) -> int:
        activity = ta.conversation_update_installed(team_id=channel_id, service_url=self.teams.service_url)
        return await self._post("/api/messages", json_body=activity)

    async def teams_install_personal(self, user_id: str) -> int:
        activity = ta.conversation_update_personal_installed(user_id, service_url=self.teams.service_url)
        return await self._post("/api/messages", json_body=activity)
