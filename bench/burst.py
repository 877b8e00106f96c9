"""Scenario: the morning an announcement goes out. SCHOOLS headteachers each press its *Start an EOI* button at
a random moment within SPREAD seconds, then answer the first three questions as soon as each is asked.

The register (`eoi-bot import schools`, every school in scope) names each school's headteacher by email; the
fake Slack workspace and the fake Bot Connector know each head by that email, so the bot links them to their
school at their first press, as it would in production. The button pressed is the announcement's own: its
value (Slack) or card data (Teams) is taken from the announcement rendered by the bot's renderers.

Slack: each press is a signed `block_actions` request to /slack/events; its acknowledgement is the HTTP
response, which Slack wants within 3 seconds. Teams: each press is a card submit activity to /api/messages.

Reported per platform: the time from the first press until every school has its first question, the time from
each press to its school's first question (p50/p99), every acknowledgement's time (Slack: how many took over
3 s), the three answers' turn times, and the service's CPU per turn.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import SECRET, Backend, base_env, cpu_seconds, latency_summary, run_cli, serve
from bench.dialog_turns import ANSWERS, prompt_in
from bench.fanout import FIRST_URN, need_csv, register_csv
from tests.fakes import slack_requests as sr
from tests.fakes import teams_activities as ta
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_web_api import FakeSlackWebApi, RecordedCall

ACK_LIMIT = 3.0  # Slack's: an interaction not acknowledged within 3 seconds shows the user an error
WAIT = 120.0  # longest a head waits for one answer before the run counts them as failed
QUESTIONS = 3
START_LABEL = "Start an EOI"


def start_button(platform: str) -> Any:
    """What the announcement's Start button sends, as the bot renders it for this platform: Slack's
    (action_id, value), Teams' card data."""
    from bot import slack_blocks, teams_cards
    from dialogs.announcements import announcement
    from storage.models import School, Window

    now = datetime.now(UTC)
    window = Window(academic_year="2026/27", term="autumn1", opens_at=now, closes_at=now)
    school = School(urn="100000", name="Any School", phase="primary", quadrant="Mid", district="Chelmsford")
    reply = announcement(window, school, [])
    rendered = slack_blocks.render(reply)[1] if platform == "slack" else teams_cards.render(reply)
    found = _labelled(rendered, START_LABEL)
    if found is None:
        raise RuntimeError(f"the announcement has no {START_LABEL!r} button on {platform}")
    return (found["action_id"], found["value"]) if platform == "slack" else found["data"]


def _labelled(node: Any, label: str) -> dict[str, Any] | None:
    """The button (Block Kit element or Adaptive Card action) shown as `label`, anywhere in a rendered reply."""
    if isinstance(node, dict):
        text = node.get("text")
        shown = text.get("text") if isinstance(text, dict) else node.get("title")
        if shown == label and ("value" in node or "data" in node):
            return node
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _labelled(child, label)
        if found is not None:
            return found
    return None


@dataclass
class Head:
    urn: str
    user_id: str
    at: float  # seconds after the burst starts when they press Start
    waiter: asyncio.Future[tuple[str, float]] | None = None
    pressed: float = 0.0
    ack_seconds: float | None = None
    first_question: float | None = None  # when it arrived (perf_counter)
    answers: list[float] = field(default_factory=list)
    error: str = ""


class Burst:
    def __init__(self, platform: str, url: str, heads: list[Head], fake: FakeSlackWebApi, connector: FakeBotConnector):
        self.platform, self.url, self.heads = platform, url, heads
        self.fake, self.connector = fake, connector
        self.by_user = {h.user_id: h for h in heads}
        self.by_conversation = {ta.personal_conversation_id(h.user_id): h for h in heads}
        self.button = start_button(platform)

    def heard_slack(self, call: RecordedCall) -> None:
        if call.method == "chat.postMessage" and call.ok:
            head = self.by_user.get(str(call.args.get("channel", "")))
            if head is not None:
                blocks = call.args.get("blocks")
                blob = blocks if isinstance(blocks, str) else json.dumps(blocks, ensure_ascii=False)
                self._heard(head, str(call.args.get("text", "")) + " " + blob)

    def heard_teams(self, activity: dict[str, Any]) -> None:
        head = self.by_conversation.get(str(activity.get("conversation_id", "")).split(";")[0])
        if head is not None:
            self._heard(head, json.dumps(activity["body"], ensure_ascii=False))

    @staticmethod
    def _heard(head: Head, blob: str) -> None:
        prompt = prompt_in(blob)
        if prompt is not None and head.waiter is not None and not head.waiter.done():
            head.waiter.set_result((prompt, time.perf_counter()))

    async def _post(self, http: aiohttp.ClientSession, head: Head, *, text: str = "", press: bool = False) -> float:
        """Send one turn; returns how long the service took to acknowledge it (its HTTP response)."""
        sent = time.perf_counter()
        if self.platform == "slack":
            if press:
                action_id, value = self.button
                body = sr.block_actions_body(head.user_id, action_id, value, button_text=START_LABEL)
            else:
                body = sr.message_im_event_body(head.user_id, text)
            headers = sr.signed_headers(SECRET, body)
            async with http.post(self.url + "/slack/events", data=body.encode(), headers=headers) as response:
                await response.read()
                status = response.status
        else:
            name = f"Head Teacher {head.urn}"
            service_url = self.connector.service_url
            activity = (
                ta.card_submit_activity(self.button, head.user_id, name, service_url=service_url)
                if press
                else ta.message_activity(text, head.user_id, name, service_url=service_url)
            )
            async with http.post(self.url + "/api/messages", json=activity) as response:
                await response.read()
                status = response.status
        if status not in (200, 201, 202):
            raise RuntimeError(f"the service answered {status}")
        return time.perf_counter() - sent

    async def _next_prompt(self, head: Head) -> tuple[str, float]:
        assert head.waiter is not None
        return await asyncio.wait_for(head.waiter, WAIT)

    async def drive(self, http: aiohttp.ClientSession, head: Head, started: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, started + head.at - time.perf_counter()))
        try:
            head.waiter = loop.create_future()
            head.pressed = time.perf_counter()
            head.ack_seconds = await self._post(http, head, press=True)
            prompt, head.first_question = await self._next_prompt(head)
            for _ in range(QUESTIONS):
                if prompt not in ANSWERS:
                    raise RuntimeError(f"asked {prompt!r}, which the script does not answer")
                head.waiter = loop.create_future()
                sent = time.perf_counter()
                await self._post(http, head, text=ANSWERS[prompt])
                prompt, arrived = await self._next_prompt(head)
                head.answers.append(arrived - sent)
        except (TimeoutError, RuntimeError, aiohttp.ClientError) as error:
            head.error = f"{head.user_id}: {type(error).__name__}: {error}"[:300]

    async def run(self) -> float:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
            started = time.perf_counter()
            await asyncio.gather(*(self.drive(http, h, started) for h in self.heads))
            return started


def heads_for(platform: str, schools: int, spread: float) -> list[Head]:
    rng = random.Random(f"burst-{platform}")
    prefix = "U0BURST" if platform == "slack" else "29:1burst"
    return [Head(str(FIRST_URN + i), f"{prefix}{FIRST_URN + i}", rng.uniform(0, spread)) for i in range(schools)]


async def run_burst(
    backend: Backend,
    fake: FakeSlackWebApi,
    connector: FakeBotConnector,
    workdir: Path,
    *,
    platform: str,
    schools: int,
    spread: float,
) -> dict[str, Any]:
    url = await backend.fresh()
    try:
        env = base_env(url, slack_api_url=fake.base_url)
        register = workdir / f"burst-register-{schools}.csv"
        register.write_text(register_csv(schools, shared=False))
        need = workdir / "burst-need.csv"
        need.write_text(need_csv())
        for args in (["import", "schools", str(register)], ["import", "need", str(need)]):
            result = await run_cli(args, env, timeout=120)
            if result.returncode != 0:
                raise RuntimeError(f"eoi-bot {' '.join(args)} failed: {result.output[-2000:]}")
        heads = heads_for(platform, schools, spread)
        for head in heads:
            email, name = f"head{head.urn}@bench-school.example", f"Head Teacher {head.urn}"
            if platform == "slack":
                fake.add_user(head.user_id, email, name)
            else:
                connector.add_member("*", head.user_id, email, name=name)
        async with serve(env, log_dir=workdir) as served:
            burst = Burst(platform, served.url, heads, fake, connector)
            listeners: list[Any] = fake.listeners if platform == "slack" else connector.listeners
            listener = burst.heard_slack if platform == "slack" else burst.heard_teams
            listeners.append(listener)
            cpu = cpu_seconds(served.pid)
            try:
                started = await burst.run()
            finally:
                listeners.remove(listener)
                fake.calls.clear()
                connector.activities.clear()
                connector.requests.clear()
            cpu = cpu_seconds(served.pid) - cpu
            rss, service_errors = served.peak_rss_mb(), served.errors()
    finally:
        await backend.drop(url)
    firsts = [h for h in heads if h.first_question is not None]
    acks = [h.ack_seconds for h in heads if h.ack_seconds is not None]
    answers = [x for h in heads for x in h.answers]
    turns = len(firsts) + len(answers)
    errors = [h.error for h in heads if h.error]
    return {
        "backend": backend.name,
        "platform": platform,
        "schools": schools,
        "spread_seconds": spread,
        "first_question_for_all_seconds": round(max(h.first_question for h in firsts) - started, 1)
        if len(firsts) == len(heads)
        else None,
        "last_press_seconds": round(max(h.pressed for h in heads) - started, 1),
        "schools_with_first_question": len(firsts),
        "to_first_question": latency_summary([h.first_question - h.pressed for h in firsts]),  # type: ignore[operator]
        "ack": latency_summary(acks),
        "acks_over_3s": sum(a > ACK_LIMIT for a in acks),
        "answer_turn": latency_summary(answers),
        "completed": sum(len(h.answers) == QUESTIONS for h in heads),
        "turns": turns,
        "server_cpu_ms_per_turn": round(1000 * cpu / turns, 2) if turns else None,
        "peak_rss_mb": rss,
        "errors": errors[:5],
        "error_count": len(errors),
        "service_errors": service_errors,
    }
