"""A third platform in two files and one line: the web chat under tests/webchat (a JSON endpoint, no page) is wired
into the real app with one line and driven through a whole EOI by the same turn runner as Slack, Teams and the
console (docs/ARCHITECTURE.md, "Adding a platform")."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import build_app
from bot.service import Service
from bot.turn_runner import APOLOGY
from storage.models import EOI, ProcessedEvent
from tests import chat
from tests.webchat.channel import ROUTE, WebChatChannel

HEAD_EMAIL = "head114000@demo-school.example"  # the demo register's headteacher of 114000 (storage/seed.py)
ids = itertools.count(1)


@pytest.fixture
async def web(service: Service) -> AsyncIterator[TestClient]:
    app = build_app(service)
    WebChatChannel(service).attach(app)  # the one line of wiring a new platform needs
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@dataclass
class Person:
    """Someone at the web chat: what they send, and the replies the last answer carried."""

    client: TestClient
    user: str
    email: str = ""
    name: str = ""
    replies: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, **said: str) -> dict[str, Any]:
        said.setdefault("id", f"m{next(ids)}")
        body = {"user": self.user, "email": self.email, "name": self.name, **said}
        response = await self.client.post(ROUTE, json=body)
        assert response.status == 200, await response.text()
        answer = await response.json()
        if not answer["seen_before"]:
            self.replies = answer["replies"]
        return answer

    async def types(self, text: str, **more: str) -> str:
        await self.send(text=text, **more)
        return self.text

    async def press(self, label: str) -> str:
        """Press the button whose label starts with `label` (any case) on the latest replies."""
        buttons = self.buttons
        found = next((b for b in buttons if b["label"].casefold().startswith(label.casefold())), None)
        assert found is not None, f"no button {label!r} in {[b['label'] for b in buttons]}"
        await self.send(action=found["action"])
        return self.text

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for r in self.replies for b in [*(f["change"] for f in r["facts"] if f["change"]), *r["buttons"]]]

    @property
    def text(self) -> str:
        lines = [[r["title"], r["text"], *(f"{f['label']}: {f['value']}" for f in r["facts"])] for r in self.replies]
        return "\n".join(line for reply in lines for line in reply if line)


async def school_eoi(service: Service) -> EOI:
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == "114000"))
    assert eoi is not None
    return eoi


async def test_a_head_completes_and_submits_an_eoi_through_the_web_chat_and_an_officer_lists_it(
    web: TestClient, service: Service
) -> None:
    """The head's email is the register's, so the web chat's first message links them to their school. They press
    the buttons they are given where an answer is one, type the rest, submit; an officer at the web chat lists it."""
    stranger = Person(web, "web-stranger", "someone@elsewhere.example", "Sam Stranger")
    assert "couldn't match you to a school" in await stranger.types("start")  # the email is what links a head
    head = Person(web, "web-head", HEAD_EMAIL, "Pat Head")
    await head.types("start")
    how = []
    for answer in chat.RESOURCED_ANSWERS:
        if any(b["label"].casefold() == answer.casefold() for b in head.buttons):
            await head.press(answer)
            how.append("pressed")
        else:
            await head.types(answer)
            how.append("typed")
        assert head.replies, f"no reply to {answer!r}"
    assert "pressed" in how and "typed" in how, how
    assert head.replies[-1]["kind"] == "review", head.text
    await head.press("Submit")
    text = await head.press("I confirm")
    eoi = await school_eoi(service)
    assert eoi.status == "submitted" and eoi.ref and eoi.ref in text, text

    # An officer on the console gives a web chat colleague the role, who then lists what was submitted.
    assert "webchat:officer-2" in await chat.officer(service).say("officer add webchat:officer-2")
    officer = Person(web, "officer-2", "olu@essex.example", "Olu Officer")
    text = await officer.types("list submitted")
    assert "1 EOI" in text and eoi.ref in text, text


async def test_the_same_message_sent_twice_is_handled_once(web: TestClient, service: Service) -> None:
    """A page that resends a message it isn't sure arrived (same id) gets it handled once: the second answer says it
    was seen before, and the head is still on question 2, not asked question 3."""
    head = Person(web, "web-head", HEAD_EMAIL, "Pat Head")
    await head.types("start")
    first = await head.send(text="Resourced Provision", id="resend-1")
    assert not first["seen_before"] and "Question 2 of" in head.text
    again = await head.send(text="Resourced Provision", id="resend-1")
    assert again == {"seen_before": True, "replies": []}
    assert (await school_eoi(service)).answers == {"provision_type": "resourced"}
    async with service.db.session() as session:
        keys = list(await session.scalars(select(ProcessedEvent.key).where(ProcessedEvent.key.like("webchat:%"))))
    assert keys.count("webchat:web-head:resend-1") == 1
    # The id is the sender's own: another person may use the same one.
    other = Person(web, "someone-else", "", "Sam")
    assert not (await other.send(text="help", id="resend-1"))["seen_before"]


async def test_a_failure_inside_a_dialog_gives_the_runners_apology_at_the_web_chat(
    web: TestClient, service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the dialog broke")

    monkeypatch.setattr(service.conversations, "_route", broken)
    head = Person(web, "web-head", HEAD_EMAIL, "Pat Head")
    with caplog.at_level(logging.INFO):
        await head.types("start")
    assert [(r["kind"], r["text"]) for r in head.replies] == [("error", APOLOGY)]
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and failures[0].startswith("webchat turn for web-head failed"), failures


async def test_the_web_chat_gets_text_with_its_runs_and_a_forged_button_is_refused_in_words(web: TestClient) -> None:
    """The page gets the text plain and as runs to style (what was typed stays one literal run); a button value
    the page made up is answered with the dialog's refusal, not a 400 or a crash."""
    head = Person(web, "web-head", HEAD_EMAIL, "Pat Head")
    await head.types("*urgent*<b>")
    [reply] = head.replies
    assert reply["text"].startswith("I don't know “*urgent*<b>”. Type start")
    assert {"text": "start", "style": "bold"} in reply["runs"]
    assert not any(run.get("style") and "urgent" in run["text"] for run in reply["runs"])
    await head.send(action='["step","launch"]')
    assert "I can't read that button" in head.text


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("start", "must be JSON"),
        (["start"], "JSON object"),
        ({"text": "start"}, '"user" is missing'),
        ({"user": "  ", "text": "start"}, '"user" is missing'),
        ({"user": "u", "text": "start", "action": "review"}, "not both or neither"),
        ({"user": "u"}, "not both or neither"),
        ({"user": "u", "text": 3}, "must be strings: text"),
        ({"user": "u", "text": "start", "colour": "red"}, "Unknown field(s): colour"),
        ({"user": "u", "text": "start", "id": "x" * 101}, "longer than 100"),
    ],
)
async def test_bad_input_gets_a_clear_400_and_changes_nothing(
    web: TestClient, service: Service, body: Any, problem: str
) -> None:
    if isinstance(body, str):
        response = await web.post(ROUTE, data=body, headers={"Content-Type": "application/json"})
    else:
        response = await web.post(ROUTE, json=body)
    assert response.status == 400
    assert problem in (await response.json())["error"]
    async with service.db.session() as session:
        assert await session.scalar(select(EOI)) is None
