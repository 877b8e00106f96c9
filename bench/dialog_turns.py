"""Scenario 1: N headteachers at once, each completing a whole EOI by typing in their DM with the bot.

Slack: every turn is a signed `message.im` event POSTed to /slack/events; the turn ends when the bot's reply
that asks the next thing (a question, the review, the declaration, or "submitted") reaches the fake Slack
Web API. Teams: every turn is a `message` activity POSTed to /api/messages; it ends when that reply reaches
the fake Bot Connector. Latency is measured from just before the POST to that arrival, as the client sees it.

Each headteacher reads the question the bot actually asked and answers it, so the script fits every demo
school: key stages follow the school's phase, and "Another need" (question 7's option 1 when a school has no
need in scope) is followed by the explanation it asks for.

The bare-framework baseline (bench/bare_echo.py) gets the same users sending the same number of messages;
its turn ends when the echo arrives.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.common import SECRET, latency_summary
from tests import chat
from tests.fakes import slack_requests as sr
from tests.fakes import teams_activities as ta
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_web_api import FakeSlackWebApi, RecordedCall

FIRST_URN = 114000
SCHOOLS = 60  # the demo register: 12 districts x 5 schools; the 4th and 5th of each district are secondaries
TURN_TIMEOUT = 30.0
MAX_TURNS = 40  # a whole EOI is about 24 turns; more means the script and the bot disagree

_QUESTIONS = yaml.safe_load((Path(chat.__file__).parent.parent / "dialogs/questions/eoi.yaml").read_text())
# (marker text, what it is), most specific first.
_ASKS = [(" ".join(q["ask"].split()), q["id"]) for q in _QUESTIONS["questions"]]
# A question asked in other words after some answers (ask_by_answer: "When did the governing body approve it?").
_ASKS += [
    (" ".join(ask.split()), q["id"])
    for q in _QUESTIONS["questions"]
    for by_answer in (q.get("ask_by_answer") or {}).values()
    for ask in by_answer.values()
]
_ASKS.append((" ".join(_QUESTIONS["declaration"]["ask"].split())[:60], "declaration"))
MARKERS: list[tuple[str, str]] = [
    *sorted(_ASKS, key=lambda m: -len(m[0])),
    ("Here is everything you", "review"),
    ("is submitted", "submitted"),
    ("went wrong", "error"),
]

ANSWERS: dict[str, str] = {
    **{
        "provision_type": "Resourced Provision",
        "primary_need": "ASD",
        "other_needs": "none",
        "places": "12",
        "start": "September 2027",
        "priority_need": "1",
        "priority_need_other": "Rising numbers of autistic pupils in our district and no local specialist places.",
        "accommodation": "Dedicated space available now",
        "accommodation_details": "Two adjoining classrooms on the ground floor, with a sensory room and garden.",
        "accessible_site": "Yes",
        "accessible_site_details": "skip",
        "senco_qualification": "Yes",
        "staff_expertise": next(a for a in chat.RESOURCED_ANSWERS if a.startswith("Our SENCo")),
        "ehcp_count": "14",
        "sen_support_count": "38",
        "inclusion_vision": chat.LONG_VISION,
        "governance": "Yes, approved",
        "governance_date": "12 November 2026",
        "contact_name": "Sam Patel",
        "contact_role": "Headteacher",
        "contact_email": "sam.patel@school.example",
        "contact_phone": "skip",
        # Version 2 of the form (docs/THE-FORM.md); academies are asked for their trust's sign-off.
        "places_by_year": "All at once",
        "places_plan": "2027/28: 6, 2028/29: 12",
        "works_estimate": "A partition wall and an accessible toilet: about six weeks in the summer holiday.",
        "works_cost": "£45,000",
        "school_contribution": "No",
        "school_contribution_amount": "£5,000",
        "staffing_model": chat.STAFFING,
        "outreach": "Possibly later",  # said with details, they are kept as the next answer and not asked
        "outreach_details": "skip",
        "attachments": "done",
        "trust_signoff": "Yes",
        "trust_signoff_by": "Sam Patel, CEO",
        "trust_signoff_date": "12 November 2026",
    },
    "review": "submit",
    "declaration": "1",
}
# What the bare echo apps are sent: the same number of messages as a whole EOI, of the same sizes.
ECHO_SCRIPT = ["start", *chat.RESOURCED_ANSWERS, "submit", "1"]


def urn_of(i: int) -> str:
    return str(FIRST_URN + i)


def is_secondary(urn: str) -> bool:
    return (int(urn) - FIRST_URN) % 5 in (3, 4)


def answer_for(prompt: str, urn: str) -> str:
    if prompt == "age_range":
        return "KS3, KS4" if is_secondary(urn) else "KS1, KS2"
    return ANSWERS[prompt]


def prompt_in(blob: str) -> str | None:
    for marker, what in MARKERS:
        if marker in blob:
            return what
    return None


@dataclass
class User:
    urn: str
    user_id: str
    waiter: asyncio.Future[tuple[str, float]] | None = None
    last_unrecognised: str = ""
    latencies: list[float] = field(default_factory=list)
    reasks: int = 0
    done: bool = False
    error: str = ""


@dataclass
class LoadResult:
    platform: str
    target: str  # "eoi-bot" | "bare slack-bolt" | "bare botbuilder"
    users: int
    turns: int
    seconds: float
    latencies: list[float]
    completed: int
    errors: list[str]
    think: float = 0.0  # mean pause between a reply and the next message (0: flat out)
    peak_rss_mb: float | None = None
    cpu_seconds: float | None = None  # the server's CPU time during the load

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "target": self.target,
            "concurrent_users": self.users,
            "think_seconds": self.think,
            "completed": self.completed,
            "turns": self.turns,
            "seconds": round(self.seconds, 2),
            "turns_per_second": round(self.turns / self.seconds, 1) if self.seconds else 0.0,
            "latency": latency_summary(self.latencies),
            "errors": self.errors[:10],
            "error_count": len(self.errors),
            "server_cpu_ms_per_turn": round(1000 * self.cpu_seconds / self.turns, 2)
            if self.cpu_seconds is not None and self.turns
            else None,
            "peak_rss_mb": self.peak_rss_mb,
        }


class Load:
    """Drives N users against one endpoint; subclasses know the platform."""

    platform = ""

    def __init__(self, url: str, users: list[User], *, echo: bool, think: float = 0.0) -> None:
        self.url, self.users, self.echo, self.think = url, users, echo, think

    # The platform fake calls this with each message the bot sent to `user`.
    def heard(self, user: User, blob: str) -> None:
        waiter = user.waiter
        if waiter is None or waiter.done():
            return
        prompt = "echo" if self.echo else prompt_in(blob)
        if prompt is None:
            user.last_unrecognised = blob[:300]
            return
        waiter.set_result((prompt, time.perf_counter()))

    async def send(self, http: aiohttp.ClientSession, user: User, text: str) -> None:
        raise NotImplementedError

    async def drive(self, http: aiohttp.ClientSession, user: User) -> None:
        script = iter(ECHO_SCRIPT[1:])  # the first, "start", is sent below
        text, previous = "start", ""
        loop = asyncio.get_running_loop()
        pause = random.Random(user.user_id)
        for turn in range(MAX_TURNS):
            if self.think:
                # Reading and typing, not timed. Before the first turn too: people don't all arrive in the
                # same millisecond, so paced users start spread over about one think time.
                await asyncio.sleep(self.think * (pause.uniform(0, 1.5) if turn == 0 else pause.uniform(0.5, 1.5)))
            user.waiter = loop.create_future()
            started = time.perf_counter()
            await self.send(http, user, text)
            try:
                prompt, arrived = await asyncio.wait_for(user.waiter, TURN_TIMEOUT)
            except TimeoutError:
                user.error = (
                    f"{user.user_id}: no answer to {text!r} in {TURN_TIMEOUT:.0f}s ({user.last_unrecognised!r})"
                )
                return
            user.latencies.append(arrived - started)
            if self.echo:
                text = next(script, "")
                if not text:
                    user.done = True
                    return
                continue
            if prompt == "submitted":
                user.done = True
                return
            if prompt == "error":
                user.error = f"{user.user_id}: the bot said something went wrong after {text!r}"
                return
            if prompt == previous and prompt not in ("review",):
                user.reasks += 1
                if user.reasks > 2:
                    user.error = f"{user.user_id}: {prompt} asked again after {text!r}"
                    return
            previous = prompt
            text = answer_for(prompt, user.urn)
        user.error = f"{user.user_id}: not finished after {MAX_TURNS} turns"

    async def run(self) -> tuple[float, list[str]]:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            started = time.perf_counter()
            await asyncio.gather(*(self.drive(http, u) for u in self.users))
            seconds = time.perf_counter() - started
        return seconds, [u.error for u in self.users if u.error]


class SlackLoad(Load):
    platform = "slack"

    def __init__(
        self, url: str, users: list[User], fake: FakeSlackWebApi, *, echo: bool = False, think: float = 0.0
    ) -> None:
        super().__init__(url + "/slack/events", users, echo=echo, think=think)
        self.fake = fake
        self.by_id = {u.user_id: u for u in users}

    def listener(self, call: RecordedCall) -> None:
        if call.method != "chat.postMessage" or not call.ok:
            return
        user = self.by_id.get(str(call.args.get("channel", "")))
        if user is not None:
            blocks = call.args.get("blocks")
            self.heard(
                user,
                str(call.args.get("text", ""))
                + " "
                + (blocks if isinstance(blocks, str) else json.dumps(blocks, ensure_ascii=False)),
            )

    async def send(self, http: aiohttp.ClientSession, user: User, text: str) -> None:
        body = sr.message_im_event_body(user.user_id, text)
        async with http.post(self.url, data=body.encode(), headers=sr.signed_headers(SECRET, body)) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"/slack/events answered {response.status}")


class TeamsLoad(Load):
    platform = "teams"

    def __init__(
        self, url: str, users: list[User], connector: FakeBotConnector, *, echo: bool = False, think: float = 0.0
    ) -> None:
        super().__init__(url + "/api/messages", users, echo=echo, think=think)
        self.connector = connector
        self.by_conversation = {ta.personal_conversation_id(u.user_id): u for u in users}

    def listener(self, activity: dict[str, Any]) -> None:
        user = self.by_conversation.get(str(activity.get("conversation_id", "")).split(";")[0])
        if user is not None:
            self.heard(user, json.dumps(activity["body"], ensure_ascii=False))

    async def send(self, http: aiohttp.ClientSession, user: User, text: str) -> None:
        activity = ta.message_activity(
            text, user.user_id, f"Head Teacher {user.urn}", service_url=self.connector.service_url
        )
        async with http.post(self.url, json=activity) as response:
            await response.read()
            if response.status not in (200, 201, 202):
                raise RuntimeError(f"/api/messages answered {response.status}")


def slack_user_id(urn: str) -> str:
    return f"U0HEAD{urn}"


def teams_user_id(urn: str) -> str:
    return f"29:1head{urn}"


def register_people(fake: FakeSlackWebApi, connector: FakeBotConnector) -> None:
    """Every demo headteacher as a Slack user and a Teams member, matched to their school by email."""
    for i in range(SCHOOLS):
        urn = urn_of(i)
        email = f"head{urn}@demo-school.example"
        fake.add_user(slack_user_id(urn), email, f"Head Teacher {urn}")
        connector.add_member("*", teams_user_id(urn), email, name=f"Head Teacher {urn}")


def users_for(platform: str, n: int) -> list[User]:
    """N headteachers spread over the districts (every 60/N-th school), so phases and needs vary."""
    step = max(1, SCHOOLS // n)
    make: Callable[[str], str] = slack_user_id if platform == "slack" else teams_user_id
    return [User(urn_of((i * step) % SCHOOLS), make(urn_of((i * step) % SCHOOLS))) for i in range(n)]


async def run_load(
    platform: str,
    url: str,
    n: int,
    fake: FakeSlackWebApi,
    connector: FakeBotConnector,
    *,
    target: str,
    echo: bool = False,
    think: float = 0.0,
) -> LoadResult:
    users = users_for(platform, n)  # "teams-agents" is Teams' load too, on the other SDK
    if platform == "slack":
        load: SlackLoad | TeamsLoad = SlackLoad(url, users, fake, echo=echo, think=think)
        fake.listeners.append(load.listener)  # type: ignore[arg-type]
    else:
        load = TeamsLoad(url, users, connector, echo=echo, think=think)
        connector.listeners.append(load.listener)  # type: ignore[arg-type]
    try:
        seconds, errors = await load.run()
    finally:
        if platform == "slack":
            fake.listeners.remove(load.listener)  # type: ignore[arg-type]
            fake.calls.clear()
        else:
            connector.listeners.remove(load.listener)  # type: ignore[arg-type]
            connector.activities.clear()
            connector.requests.clear()
    latencies = [x for u in users for x in u.latencies]
    done = sum(u.done for u in users)
    return LoadResult(platform, target, n, len(latencies), seconds, latencies, done, errors, think=think)
