"""A Slack workspace for end-to-end tests: the real aiohttp app (build_app) on loopback, its Slack Web API
pointed at FakeSlackWebApi, and people who talk to it with requests signed exactly as Slack signs them.

Slack handling happens after the ack, so every helper waits for the fake's recorded calls and for the
adapter's acknowledged turns to finish, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.service import Service
from bot.slack_adapter import SLACK, SlackAdapter
from storage.clock import Clock
from storage.models import School
from tests import block_kit_limits
from tests.conftest import TestDatabase, make_settings, service_on_copy
from tests.fakes import slack_requests as sr
from tests.fakes.slack_web_api import FakeSlackWebApi

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
OFFICER_ID = "U0OFFICER"
HEAD_ID = "U0HEAD"
SCHOOL_URN = "114000"
SCHOOL_CHANNEL = "C0SCHOOL"
SHARED_CHANNEL = "C0STAFFROOM"

Json = dict[str, Any]
VISIBLE = ("chat.postMessage", "chat.postEphemeral", "response_url", "views.open")


@dataclass
class Person:
    """Someone in the workspace, pressing what the bot actually showed them."""

    slack: Workspace
    user_id: str
    seen: list[Json] = field(default_factory=list)  # messages the bot posted to this person (newest last)
    latest: list[Json] = field(default_factory=list)  # those posted in answer to their last request

    # ---------------------------------------------------------------- saying things
    async def types(self, text: str) -> list[Json]:
        """Type an ordinary message in the DM with the app (a message.im event)."""
        return await self.slack.turn(sr.message_im_event_body(self.user_id, text), self)

    async def slash(self, text: str, *, channel: str | None = None) -> list[Json]:
        """`/eoi text` in the DM (default) or in a channel; ephemeral answers land in `slack.responses`."""
        url = self.slack.fake.response_url(f"cmd-{self.user_id}")
        return await self.slack.turn(
            sr.slash_command_body(text, self.user_id, channel_id=channel, response_url=url), self
        )

    # ---------------------------------------------------------------- pressing things
    def button(self, label: str, messages: list[Json] | None = None) -> tuple[Json, Json, Json]:
        """(message, block, element) of the newest button whose text starts with `label`."""
        for message in reversed(messages if messages is not None else self.seen):
            for block in message.get("blocks", []):
                elements = [block["accessory"]] if "accessory" in block else block.get("elements", [])
                for element in elements:
                    if element.get("type") == "button" and element["text"]["text"].casefold().startswith(
                        label.casefold()
                    ):
                        return message, block, element
        shown = [
            e["text"]["text"]
            for m in (messages if messages is not None else self.seen)
            for b in m.get("blocks", [])
            for e in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
            if e.get("type") == "button"
        ]
        raise AssertionError(f"no button {label!r}; buttons shown: {shown}")

    def option(self, label: str, messages: list[Json] | None = None) -> tuple[Json, Json, Json, Json] | None:
        """(message, block, drop-down, option) of the newest drop-down option whose text starts with `label`."""
        for message in reversed(messages if messages is not None else self.seen):
            for block in message.get("blocks", []):
                for element in block.get("elements", []):
                    for option in element.get("options", []) if element.get("type") == "static_select" else []:
                        if option["text"]["text"].casefold().startswith(label.casefold()):
                            return message, block, element, option
        return None

    async def press(
        self, label: str, *, messages: list[Json] | None = None, channel: str | None = None, state: Json | None = None
    ) -> list[Json]:
        """Press the button whose text starts with `label`, or choose that option of a drop-down."""
        try:
            message, block, element = self.button(label, messages)
        except AssertionError:
            picked = self.option(label, messages)
            if picked is None:
                raise
            message, block, element, option = picked
            body = sr.block_actions_body(
                self.user_id,
                element["action_id"],
                block_id=block.get("block_id", "b"),
                channel_id=channel,
                action_type="static_select",
                selected_option=option,
                response_url=self.slack.fake.response_url(f"act-{self.user_id}"),
                message={"type": "message", "text": message.get("text", ""), "blocks": message.get("blocks", [])},
            )
            return await self.slack.turn(body, self)
        body = sr.block_actions_body(
            self.user_id,
            element["action_id"],
            element.get("value"),
            block_id=block.get("block_id", "b"),
            channel_id=channel,
            button_text=element["text"]["text"],
            response_url=self.slack.fake.response_url(f"act-{self.user_id}"),
            message={"type": "message", "text": message.get("text", ""), "blocks": message.get("blocks", [])},
            state_values=state,
        )
        return await self.slack.turn(body, self)

    def checkboxes(self) -> list[tuple[Json, Json]]:
        """(block, element) of every checkbox group on the newest question."""
        for message in reversed(self.seen):
            found = [
                (b, e)
                for b in message.get("blocks", [])
                for e in b.get("elements", [])
                if e.get("type") == "checkboxes"
            ]
            if found:
                return found
        raise AssertionError("no checkboxes shown")

    async def tick_and_done(self, *values: str) -> list[Json]:
        """Tick the options with these values (e.g. KS1) on a multiple-choice question, then press Done."""
        state: Json = {}
        wanted = {value.casefold() for value in values}
        for block, element in self.checkboxes():
            chosen = [o for o in element["options"] if o["value"].casefold() in wanted]
            state[block["block_id"]] = {element["action_id"]: {"type": "checkboxes", "selected_options": chosen}}
        return await self.press("Done", state=sr.view_state_values(state))

    async def submit_modal(self, values: Json, *, view: Json | None = None) -> ClientResponse:
        """Fill in and submit the newest modal opened for this person (views.open)."""
        view = view or self.slack.fake.calls_to("views.open")[-1]["view"]
        body = sr.view_submission_body(
            self.user_id, view["callback_id"], values, private_metadata=view.get("private_metadata", "")
        )
        mark = len(self.slack.fake.calls)
        response = await self.slack.post(body)
        await self.slack.settle()
        self.latest = self.slack.posted_to(self.user_id, since=mark)
        self.seen += self.latest
        return response

    # ---------------------------------------------------------------- reading
    @property
    def last(self) -> Json:
        return self.seen[-1]

    @property
    def text(self) -> str:
        """The newest message's text."""
        return text_of(self.seen[-1]) if self.seen else ""

    @property
    def heard(self) -> str:
        """Everything said in answer to their last request."""
        return "\n".join(text_of(m) for m in self.latest)


def text_of(message: Json) -> str:
    """Everything a person reads in a message: header, sections, fields, context."""
    parts = []
    for block in message.get("blocks", []):
        if block.get("text"):
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e.get("text", "") for e in block.get("elements", []) if block["type"] == "context"]
    return "\n".join(parts) or message.get("text", "")


@dataclass
class Workspace:
    client: TestClient
    fake: FakeSlackWebApi
    service: Service
    adapter: SlackAdapter

    def person(self, user_id: str) -> Person:
        return Person(self, user_id)

    async def post(self, body: str, *, headers: dict[str, str] | None = None) -> ClientResponse:
        headers = headers or sr.signed_headers(SECRET, body)
        response = await self.client.post("/slack/events", data=body.encode(), headers=headers)
        await response.read()
        return response

    async def settle(self) -> None:
        """Wait for every acknowledged turn to finish."""
        await self.adapter.drain(timeout=10)

    async def turn(self, body: str, person: Person) -> list[Json]:
        """Send a request as `person`; return what the bot then posted in their DM."""
        mark = len(self.fake.calls)
        response = await self.post(body)
        assert response.status == 200, (response.status, await response.text())
        deadline = time.monotonic() + 5
        while not self._answered(mark) and time.monotonic() < deadline:
            await _tick()
        await self.settle()
        new = self.posted_to(person.user_id, since=mark)
        person.seen += new
        person.latest = new
        return new

    def _answered(self, mark: int) -> bool:
        """The bot has started answering: something a person would see was sent after call `mark`."""
        return any(c.method in VISIBLE for c in self.fake.calls[mark:])

    def posted_to(self, channel: str, *, since: int = 0) -> list[Json]:
        """Messages successfully posted to this channel or user's DM since call number `since`."""
        return [
            {**c.args, "blocks": _blocks(c.args.get("blocks"))}
            for c in self.fake.calls[since:]
            if c.method == "chat.postMessage" and c.ok and c.args.get("channel") == channel
        ]

    def ephemeral(self, name: str) -> list[Json]:
        """Bodies POSTed to the response URL `name` (ephemeral answers)."""
        return [{**b, "blocks": _blocks(b.get("blocks"))} for b in self.fake.responses.get(name, [])]

    async def deliver_notices(self) -> None:
        """What the background delivery loop does: plan notices, then send what is due."""
        await self.service.dispatcher.plan_notices()
        await self.service.dispatcher.run_due()


def _blocks(raw: Any) -> list[Json]:
    if isinstance(raw, str):
        return json.loads(raw)
    return list(raw or [])


async def _tick() -> None:
    await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def slack_workspace(test_db: TestDatabase, clock: Clock, **settings: Any) -> AsyncIterator[Workspace]:
    """The demo service with Slack on, a headteacher of school 114000 and an officer known to Slack; `settings`
    are further Settings fields (e.g. metrics=True).

    Use it from a fixture: ``async with slack_workspace(test_db, clock) as ws: yield ws``.
    """
    async with FakeSlackWebApi() as fake_slack, _workspace(test_db, clock, fake_slack, **settings) as workspace:
        yield workspace
        # Every story's messages and views are within Slack's limits (tests/block_kit_limits.py).
        broken = block_kit_limits.all_problems(fake_slack)
        assert not broken, "Block Kit limits broken:\n" + "\n".join(broken)


@contextlib.asynccontextmanager
async def _workspace(
    test_db: TestDatabase, clock: Clock, fake_slack: FakeSlackWebApi, **more: Any
) -> AsyncIterator[Workspace]:
    db = await test_db.create(demo_at=clock.now())
    async with db.session() as session:
        school = await session.get(School, SCHOOL_URN)
        assert school is not None
        school.slack_channel_id = SCHOOL_CHANNEL
        head_email = school.headteacher_email
        await session.commit()
    settings = make_settings(
        test_db.url,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.base_url,
        officers=(("slack", OFFICER_ID),),
        **more,
    )
    service = service_on_copy(settings, clock, db)
    fake_slack.add_user(HEAD_ID, head_email, "Pat Head")
    fake_slack.add_user(OFFICER_ID, "officer@essex.example", "Olu Officer")
    fake_slack.add_user("U0STRANGER", "someone@elsewhere.example", "Sam Stranger")
    app = build_app(service)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Workspace(client, fake_slack, service, app[SLACK])
    finally:
        await client.close()
        await service.close()
