"""Hostile input from outside: malformed, truncated, oversized and wrongly typed requests to both chat
endpoints always get a 4xx, never a 5xx, and change nothing; arbitrary text never breaks a dialog; a
crafted button naming another school's EOI is refused and audited."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from dialogs import conversation_state
from dialogs.actions import Action, Command, DiscussionReply, decode
from dialogs.conversation_state import Answering
from dialogs.turns import Speaker, Turn
from storage.models import EOI, AuditEntry, ConversationRef, Notice, Person, ProcessedEvent
from tests.chat import Chat, complete_eoi, headteacher, officer
from tests.fakes import slack_requests as sr
from tests.slack_fixtures import HEAD_ID, SECRET, Workspace, slack_workspace

TABLES = (Person, EOI, AuditEntry, Notice, ProcessedEvent, ConversationRef)
MEGABYTE = 1024 * 1024
HEAD_EMAIL = "head114000@demo-school.example"


@pytest.fixture
async def ws(test_db, clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


@pytest.fixture
async def ws_teams(test_db, clock, teams_sdk) -> AsyncIterator[Workspace]:
    """The same service with Teams on each SDK, for what is posted to /api/messages."""
    async with slack_workspace(test_db, clock, teams_sdk=teams_sdk) as workspace:
        yield workspace


async def _counts(ws: Workspace) -> dict[str, int]:
    async with ws.service.db.session() as session:
        return {t.__tablename__: await session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def _slack_bodies() -> list[tuple[str, str, str | None]]:
    """(what, body, content type); each is signed correctly, so only the content is hostile."""
    event = json.loads(sr.message_im_event_body("U0HEAD", "hello"))
    return [
        ("truncated JSON", sr.message_im_event_body("U0HEAD", "hi")[:40], "application/json"),
        ("a JSON list", "[1, 2, 3]", "application/json"),
        ("event is a string", json.dumps({**event, "event": "message"}), "application/json"),
        ("event text is a number", json.dumps({**event, "event": {**event["event"], "text": 7}}), "application/json"),
        ("payload is not JSON", "payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        ("payload is a number", "payload=42", "application/x-www-form-urlencoded"),
        ("empty body", "", "application/json"),
        ("bytes that are not UTF-8", "\udcff\udcfe", "application/json"),
        ("oversized", json.dumps({**event, "pad": "x" * (MEGABYTE + 10)}), "application/json"),
    ]


@pytest.mark.parametrize("case", range(len(_slack_bodies())), ids=[c[0] for c in _slack_bodies()])
async def test_hostile_slack_bodies_get_a_4xx_and_change_nothing(ws, case):
    what, body, content_type = _slack_bodies()[case]
    before = await _counts(ws)
    raw = body.encode("utf-8", "surrogateescape")
    headers = sr.signed_headers(SECRET, raw.decode("utf-8", "replace"))
    headers["Content-Type"] = content_type or headers.get("Content-Type", "application/json")
    response = await ws.client.post("/slack/events", data=raw, headers=headers)
    assert 400 <= response.status < 500, (what, response.status, await response.text())
    await ws.settle()
    assert await _counts(ws) == before, what


@pytest.mark.parametrize(
    ("what", "body", "content_type"),
    [
        ("not JSON", b"{this is not json", "application/json"),
        ("truncated", b'{"type": "message", "text": "hi", "from": {"id"', "application/json"),
        ("a JSON list", b"[]", "application/json"),
        ("type is a number", b'{"type": 3}', "application/json"),
        (
            "from is a string",
            json.dumps(
                {
                    "type": "message",
                    "text": "hi",
                    "from": "me",
                    "conversation": "x",
                    "serviceUrl": "http://127.0.0.1:9/",
                }
            ).encode(),
            "application/json",
        ),
        ("plain text", b"hello", "text/plain"),
        ("oversized", json.dumps({"type": "message", "text": "x" * (MEGABYTE + 10)}).encode(), "application/json"),
    ],
)
async def test_hostile_bot_framework_bodies_get_a_4xx_and_change_nothing(ws_teams, what, body, content_type):
    before = await _counts(ws_teams)
    response = await ws_teams.client.post("/api/messages", data=body, headers={"Content-Type": content_type})
    assert 400 <= response.status < 500, (what, response.status, await response.text())
    assert await _counts(ws_teams) == before, what


DEEP = b"[" * 100_000  # 100 kB of `[`: json.loads recurses until Python's limit


async def test_deeply_nested_json_gets_a_4xx_on_both_routes_before_or_after_authentication(ws_teams):
    before = await _counts(ws_teams)
    teams = await ws_teams.client.post("/api/messages", data=DEEP, headers={"Content-Type": "application/json"})
    assert teams.status == 400, await teams.text()
    payload = b"payload=" + b"%5B" * 30_000
    for body, content_type in ((DEEP, "application/json"), (payload, "application/x-www-form-urlencoded")):
        headers = sr.signed_headers(SECRET, body.decode())  # signed, so it reaches the parser
        headers["Content-Type"] = content_type
        slack = await ws_teams.client.post("/slack/events", data=body, headers=headers)
        assert slack.status == 400, (content_type, slack.status, await slack.text())
    unsigned = await ws_teams.client.post("/slack/events", data=DEEP, headers={"Content-Type": "application/json"})
    assert unsigned.status == 401
    assert await _counts(ws_teams) == before


async def test_an_unsigned_activity_naming_a_server_elsewhere_is_refused_before_anything_is_asked_of_it(ws_teams):
    """Emulator mode (the tests' Teams) has no authentication, so it talks only to this machine: an outsider's
    serviceUrl would otherwise be asked for the member's email, and believed."""
    before = await _counts(ws_teams)
    for service_url in ("https://attacker.invalid/", "http://attacker.invalid:80/", "ftp://127.0.0.1/"):
        activity = {
            "type": "message",
            "id": "1",
            "text": "withdraw EOI-2627A-001 confirm",
            "from": {"id": "29:mallory"},
            "conversation": {"id": "a:mallory", "conversationType": "personal"},
            "recipient": {"id": "28:bot"},
            "channelId": "msteams",
            "serviceUrl": service_url,
        }
        response = await ws_teams.client.post("/api/messages", json=activity)
        assert response.status == 403, (service_url, response.status)
    assert await _counts(ws_teams) == before


async def test_unknown_routes_and_methods_are_4xx(ws):
    assert (await ws.client.get("/slack/events")).status == 405
    assert (await ws.client.post("/nowhere", data=b"x")).status == 404


def _junk(rng: random.Random) -> str:
    alphabet = "abcXYZ019 ,.;:/|*_~`<>@#&%$!?()[]{}\\\"'\n\t\u00a0²½é漢🙂\u202e\x00\x1b"
    kind = rng.randrange(6)
    if kind == 0:
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
    if kind == 1:
        return rng.choice(
            ["a|", "a|places|", "change|nope", "reply|accept|", "cmd|", "|||", "form|x|y"]
        ) + "x" * rng.randrange(3)
    if kind == 2:
        return "x" * rng.randrange(3000, 12000)
    if kind == 3:
        return rng.choice(
            [
                "/eoi",
                "/eoi list page 99999999999999999999",
                "schedule",
                "decide EOI-1 maybe",
                "window add",
                "window change",
                "link",
                "officer add :",
                "list page=-1",
            ]
        )
    if kind == 4:
        return rng.choice(["help", "back", "skip", "save", "review", "cancel", "submit", "start", "status"])
    return str(rng.randrange(-10, 100))


async def test_arbitrary_text_and_actions_never_break_a_dialog_or_a_command(service):
    rng = random.Random(2026)
    head = await headteacher(service)
    desk = officer(service)
    await head.say("start")
    for _ in range(150):
        for chat in (head, desk):
            junk = _junk(rng)
            if rng.random() < 0.3:
                chat.replies = await service.conversations.handle(_turn(chat, action=junk))
            else:
                await chat.say(junk)
            assert chat.replies, junk  # always an answer, never silence or an exception
    # The dialog still works afterwards.
    await head.say("save")
    assert "Question" in await head.say("start") or "Here is everything" in head.text


async def test_nul_bytes_control_characters_and_lone_surrogates_in_a_slack_message_get_an_ordinary_answer(ws):
    head = ws.person(HEAD_ID)
    await head.types("list submitted\x00\x1b[2J\ud800")  # what PostgreSQL refuses, and what no database stores
    assert "for ECC officers only" in head.text, head.text
    async with ws.service.db.session() as session:
        note = await session.scalar(select(AuditEntry.note).where(AuditEntry.action == "refused"))
    assert note == "officer command: list submitted[2J\ufffd"


async def test_an_overlong_name_email_or_user_id_from_any_channel_is_bounded_not_a_failure(service):
    same_start = "29:" + "x" * 300  # two ids alike in their first 300 characters
    speakers = [
        Speaker("msteams", same_start + "a", display_name="N" * 500, email="e" * 400 + "@school.example"),
        Speaker("msteams", same_start + "b", display_name="\x00Sam\u202e", email=HEAD_EMAIL + "\x00"),
    ]
    for speaker in speakers:
        replies = await service.conversations.handle(Turn(speaker, text="help\x00"))
        assert replies and replies[0].kind != "error"
    async with service.db.session() as session:
        people = (await session.scalars(select(Person).where(Person.platform == "msteams"))).all()
    assert len(people) == 2  # still two people
    assert all(len(p.user_id) <= 200 and len(p.display_name) <= 200 and len(p.email) <= 320 for p in people)
    assert sorted(p.display_name for p in people) == ["N" * 200, "Sam"]
    # An address that can't be stored as it is isn't edited into one that matches a school.
    assert [p.school_urn for p in people] == [None, None]


def _turn(chat: Chat, *, action: str | Action) -> Turn:
    """A button press: a junk value as a channel would decode it, or a crafted action."""
    return Turn(chat.speaker, action=decode(action) if isinstance(action, str) else action)


async def test_a_crafted_button_naming_another_schools_eoi_is_refused_and_audited(service):
    other = await headteacher(service, urn="114001", user="other")
    text = await complete_eoi(other)
    ref = next(word.strip("*.") for word in text.split() if word.strip("*.").startswith("EOI-"))
    await officer(service).say(f"shortlist {ref}")
    await officer(service).say(f"schedule {ref} 3/12 10am")
    head = await headteacher(service)
    for crafted in (
        DiscussionReply("accept", ref),
        Command(f"shortlist {ref}"),
        Command(f"withdraw {ref}"),
    ):
        replies = await service.conversations.handle(_turn(head, action=crafted))
        assert replies[0].kind == "error", crafted
    async with service.db.session() as session:
        refused = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "refused"))).all()
        eoi = await session.scalar(select(EOI).where(EOI.ref == ref))
    assert len(refused) == 3
    assert eoi.status == "discussion scheduled"


async def test_a_redelivered_answer_is_applied_once(service):
    head = await headteacher(service)
    await head.say("start")
    turn = Turn(head.speaker, text="Resourced Provision")
    first = await service.conversations.handle_once(turn, "slack:Ev0001")
    assert first and "Question 2 of" in first[-1].text
    # The same delivery again (a retry): nothing happens, so "Resourced Provision" is not read as the answer to
    # question 2.
    assert await service.conversations.handle_once(turn, "slack:Ev0001") is None
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI))
        person = await session.scalar(select(Person).where(Person.user_id == head.speaker.user_id))
    at = conversation_state.of(person).place  # where the head is in the questions
    assert (eoi.answers, at) == ({"provision_type": "resourced"}, Answering("primary_need"))


async def test_a_turn_that_dies_before_its_commit_leaves_the_delivery_free_for_the_platforms_retry(
    service, monkeypatch
):
    head = await headteacher(service)
    await head.say("start")
    turn = Turn(head.speaker, text="Resourced Provision")
    real_route = service.conversations._route

    async def dies(*args, **kwargs):
        await real_route(*args, **kwargs)  # the answer is applied in the session...
        raise RuntimeError("the process died here")  # ...and never committed

    monkeypatch.setattr(service.conversations, "_route", dies)
    with pytest.raises(RuntimeError):
        await service.conversations.handle_once(turn, "slack:Ev0002")
    monkeypatch.setattr(service.conversations, "_route", real_route)
    retried = await service.conversations.handle_once(turn, "slack:Ev0002")  # Slack retries: handled now
    assert retried and "Question 2 of" in retried[-1].text
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI))
    assert eoi.answers == {"provision_type": "resourced"}
