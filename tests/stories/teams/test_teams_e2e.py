"""Microsoft Teams, end to end over HTTP: Bot Framework activities as Teams sends them are posted to
`/api/messages` of the running app (aiohttp test server on 127.0.0.1), and everything the bot says goes
to a local fake Bot Connector at the activities' serviceUrl, which records it.

The stories: a headteacher completes an EOI with buttons and typed answers; an officer works in a channel
by @mentioning the bot; a school's team hears announcements after a restart; one source of truth with the
console; no token, no entry; duplicates handled once; throttling waited out.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot import metrics
from bot.app import build_app
from bot.service import Service, open_service
from bot.teams_cards import FILE_CONSENT_TYPE, FILE_INFO_TYPE
from dialogs.officer_commands import export_csv
from dialogs.replies import Reply
from dialogs.rich import md
from storage import eois, notices, people
from storage.clock import Clock
from storage.models import EOI, ConversationRef, Delivery, School
from tests import chat, conftest
from tests.conftest import OFFICER, make_settings
from tests.fakes import teams_activities as ta
from tests.fakes.bot_connector import FakeBotConnector

HEAD_ID = "29:1head114000"
HEAD_EMAIL = "head114000@demo-school.example"
OFFICER_ID = "29:officer"
STRANGER_ID = "29:1stranger"
APP_ID = "3f2b6c1e-9a4d-4e7b-8c21-5d0f7a9b1c2e"
JsonDict = dict[str, Any]


# ------------------------------------------------------------------------------------------ the harness
def card_of(activity: JsonDict) -> JsonDict | None:
    for attachment in activity["body"].get("attachments") or []:
        if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
            return attachment["content"]
    return None


def _walk(node: Any) -> Any:
    """Every dict in a card, depth first (body, columns, action sets, show-cards)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def shown_text(activity: JsonDict) -> str:
    """What a person reads: the message text, or the card's text blocks, facts and button titles."""
    parts = [str(activity["body"].get("text") or "")]
    card = card_of(activity)
    for node in _walk(card["body"] if card else []):
        if node.get("type") == "TextBlock":
            parts.append(node["text"])
        elif "title" in node and "value" in node and isinstance(node["value"], str):
            parts.append(f"{node['title']}: {node['value']}")
    for node in _walk(card.get("actions", []) if card else []):
        if str(node.get("type", "")).startswith("Action."):
            parts.append(f"[{node['title']}]")
    return "\n".join(p for p in parts if p)


@dataclass
class Teams:
    """The app under test and the fake connector, with a way to post activities."""

    service: Service
    connector: FakeBotConnector
    http: aiohttp.ClientSession
    url: str
    headers: dict[str, str] = field(default_factory=dict)

    async def post(self, activity: JsonDict, *, expect: int = 200) -> list[JsonDict]:
        before = len(self.connector.activities)
        async with self.http.post(self.url, json=activity, headers=self.headers) as response:
            assert response.status == expect, (response.status, await response.text())
        return self.connector.activities[before:]

    def user(self, user_id: str, name: str, **kwargs: Any) -> User:
        return User(self, user_id, name, **kwargs)


@dataclass
class User:
    teams: Teams
    user_id: str
    name: str
    conversation_type: str = "personal"
    seen: list[JsonDict] = field(default_factory=list)
    presses: int = 0

    def _common(self) -> JsonDict:
        return {"service_url": self.teams.connector.service_url, "conversation_type": self.conversation_type}

    async def say(self, text: str) -> str:
        activity = ta.message_activity(text, self.user_id, self.name, **self._common())
        self.seen = await self.teams.post(activity)
        return self.text

    async def submit(self, value: JsonDict, reply_to: str | None = None) -> str:
        activity = ta.card_submit_activity(value, self.user_id, self.name, reply_to_id=reply_to, **self._common())
        self.seen = await self.teams.post(activity)
        self.presses += 1
        return self.text

    @property
    def text(self) -> str:
        return "\n\n".join(shown_text(a) for a in self.seen)

    @property
    def cards(self) -> list[tuple[JsonDict, JsonDict]]:
        return [(a, c) for a in self.seen if (c := card_of(a))]

    def find_button(self, label: str) -> tuple[JsonDict, JsonDict] | None:
        for activity, card in reversed(self.cards):
            for node in _walk(card):
                if node.get("type") == "Action.Submit" and node["title"].casefold().startswith(label.casefold()):
                    return activity, node
        return None

    def find_option(self, label: str) -> tuple[JsonDict, JsonDict] | None:
        for activity, card in reversed(self.cards):
            for node in _walk(card):
                if node.get("type") == "Input.ChoiceSet" and node.get("id") == "eoi_choice":
                    for option in node["choices"]:
                        if option["title"].casefold().startswith(label.casefold()):
                            return activity, option
        return None

    async def press(self, label: str) -> str:
        """Press the button (or pick the drop-down option) whose title starts with `label`."""
        found = self.find_button(label)
        if found:
            activity, button = found
            return await self.submit(dict(button["data"]), activity["activity_id"])
        picked = self.find_option(label)
        assert picked, f"no button or option {label!r} in:\n{self.text}"
        activity, option = picked
        return await self.submit({"eoi_pick": 1, "eoi_choice": option["value"]}, activity["activity_id"])

    def multi_card(self) -> tuple[JsonDict, JsonDict] | None:
        for activity, card in reversed(self.cards):
            for node in _walk(card):
                if node.get("type") == "Input.ChoiceSet" and node.get("isMultiSelect"):
                    return activity, node
        return None

    async def tick(self, *labels: str) -> str:
        """Tick these options of a multiple-choice card, then press Done."""
        found = self.multi_card()
        assert found, self.text
        activity, checks = found
        values = [o["value"] for o in checks["choices"] if any(o["title"].startswith(x) for x in labels)]
        assert len(values) == len(labels), (labels, checks["choices"])
        _, done = self.find_button("Done") or (None, None)
        assert done is not None
        return await self.submit({**done["data"], "eoi_values": ",".join(values)}, activity["activity_id"])

    async def fill(self, button: str, **fields: str) -> str:
        """Open a form button (Action.ShowCard) on the latest card, fill it in, and send it."""
        for activity, card in reversed(self.cards):
            for node in _walk(card):
                if node.get("type") == "Action.ShowCard" and node["title"].casefold().startswith(button.casefold()):
                    return await self._send_form(activity, node["card"], fields)
        # A form sent back with problems is a card of its own.
        for activity, card in reversed(self.cards):
            if any(n.get("id", "").startswith("f_") for n in _walk(card)):
                return await self._send_form(activity, card, fields)
        raise AssertionError(f"no form {button!r} in:\n{self.text}")

    async def _send_form(self, activity: JsonDict, card: JsonDict, fields: dict[str, str]) -> str:
        inputs = {n["id"]: n for n in _walk(card) if str(n.get("type", "")).startswith("Input.")}
        for name in fields:
            assert f"f_{name}" in inputs, (name, list(inputs))
        submit = next(n for n in card["actions"] if n["type"] == "Action.Submit")
        values = {i: n.get("value", "") for i, n in inputs.items()}  # Teams sends what the inputs hold
        values.update({f"f_{k}": v for k, v in fields.items()})
        return await self.submit({**submit["data"], **values}, activity["activity_id"])


async def _start(service: Service, connector: FakeBotConnector, **headers: str) -> AsyncIterator[Teams]:
    server = TestServer(build_app(service), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield Teams(service, connector, http, str(server.make_url("/api/messages")), dict(headers))
    finally:
        await server.close()


@contextlib.asynccontextmanager
async def teams_with(
    test_db: conftest.TestDatabase, clock: Clock, *members: tuple[str, str, str], teams_sdk: str = "botbuilder"
) -> AsyncIterator[Teams]:
    """The demo service, on this SDK, behind a fake connector that knows these members (user id, email, name)."""
    async with FakeBotConnector() as connector:
        for user_id, email, name in members:
            connector.add_member("*", user_id, email, name=name)
        service = await open_teams_service(test_db, clock, seed=True, teams_sdk=teams_sdk)
        try:
            async for harness in _start(service, connector):
                yield harness
        finally:
            await service.close()


async def open_teams_service(test_db: conftest.TestDatabase, clock: Clock, *, seed: bool, **overrides: Any) -> Service:
    settings = make_settings(test_db.url, officers=(OFFICER, ("msteams", OFFICER_ID)), **overrides)
    if seed:
        return conftest.service_on_copy(settings, clock, await test_db.create(demo_at=clock.now()))
    return await open_service(settings, clock=clock, db=test_db.open())  # an empty database: migrated here


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    async with FakeBotConnector() as fake:
        fake.add_member("*", HEAD_ID, HEAD_EMAIL, name="Pat Head")
        fake.add_member("*", OFFICER_ID, "officer@essex.example", name="Olu Officer")
        fake.add_member("*", STRANGER_ID, "someone@elsewhere.example", name="Sam Stranger")
        yield fake


@pytest.fixture
async def svc(test_db: conftest.TestDatabase, clock: Clock, teams_sdk: str) -> AsyncIterator[Service]:
    service = await open_teams_service(test_db, clock, seed=True, teams_sdk=teams_sdk)
    yield service
    await service.close()


@pytest.fixture
async def teams(svc: Service, connector: FakeBotConnector) -> AsyncIterator[Teams]:
    async for harness in _start(svc, connector):
        yield harness


async def complete_in_teams(head: User, answers: list[str] = chat.RESOURCED_ANSWERS) -> None:
    """Answer every question the way a Teams user would: press the button or option that says the
    answer, tick the boxes of a multiple choice, type everything else."""
    await head.say("start")
    for answer in answers:
        if head.multi_card() and "," in answer:
            await head.tick(*[a.strip() for a in answer.split(",")])
        elif head.find_button(answer) or head.find_option(answer):
            await head.press(answer)
        else:
            await head.say(answer)
        assert "something went wrong" not in head.text


# ------------------------------------------------------------------------------------------ stories
async def test_headteacher_completes_an_eoi_with_cards_and_typed_answers(teams: Teams) -> None:
    head = teams.user(HEAD_ID, "Pat Head")
    await complete_in_teams(head)
    assert head.presses >= 4, "buttons, the drop-down and the key-stage checkboxes were used"

    # The review: one Change button per answer, and Submit.
    assert "Here is everything you've told us" in head.text
    assert head.find_button("Change Places") and head.find_button("Submit")
    await head.press("Change Places")
    assert "How many places" in head.text
    await head.say("10")
    assert "Here is everything you've told us" in head.text
    assert "Places: 10" in head.text or "10" in head.text

    # A button pressed on an old card does not corrupt the dialog.
    await head.press("Submit")
    await head.press("I confirm")
    assert "submitted" in head.text.lower()
    async with teams.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == "114000"))
        assert eoi is not None and eoi.status == eois.SUBMITTED and eoi.answers["places"] == 10
        ref = eoi.ref
        person = await session.scalar(select(people.Person).where(people.Person.user_id == HEAD_ID))
        assert person.email == HEAD_EMAIL and person.school_urn == "114000"

    # Every card is far below Teams' 100 KB limit, and at schema 1.4.
    for item in teams.connector.activities:
        assert item["size"] < 40_000
        card = card_of(item)
        if card:
            assert card["version"] == "1.4"
    assert ref


async def test_why_a_question_is_asked_is_in_italics_on_the_card_not_escaped_underscores(teams: Teams) -> None:
    head = teams.user(HEAD_ID, "Pat Head")
    await head.say("start")
    for answer in chat.RESOURCED_ANSWERS[:5]:
        await head.say(answer)
    assert "When could the provision open?" in head.text
    assert "\n_It must be after this window closes and within three years._" in head.text  # italic in Teams
    assert "\\_" not in head.text  # no underscore escaped to show as itself


async def test_a_headteacher_writes_a_long_answer_on_the_card_and_a_problem_keeps_the_text(teams: Teams) -> None:
    head = teams.user(HEAD_ID, "Pat Head")
    await complete_in_teams(head, chat.RESOURCED_ANSWERS[:9])
    assert "Describe the space" in head.text
    await head.fill("Write it in a larger box", answer="A room.")
    assert "at least 20 characters" in head.text
    form = head.cards[-1][1]
    typed = next(n for n in _walk(form) if n.get("id") == "f_answer")
    assert typed["value"] == "A room." and typed["isMultiline"] is True  # what was typed, shown again

    await head.fill("Write it in a larger box", answer="Two classrooms on the ground floor.\n\nAnd a garden.")
    assert "Question 11 of" in head.text
    async with teams.service.db.session() as session:
        eoi = await eois.school_eoi(session, await session.get(School, "114000"), teams.service.clock.now())
        assert eoi is not None and eoi.answers["accommodation_details"].splitlines()[-1] == "And a garden."


async def test_stale_buttons_and_strangers_are_treated_kindly(teams: Teams) -> None:
    head = teams.user(HEAD_ID, "Pat Head")
    await head.say("start")
    first_card = head.seen
    await head.press("Resourced Provision")
    assert "primary need" in head.text.lower()
    head.seen = first_card
    await head.press("Partnership Provision")  # the first question's card, pressed again later
    assert "something went wrong" not in head.text
    async with teams.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == "114000"))
        assert eoi is not None and eoi.status == eois.DRAFT

    stranger = teams.user(STRANGER_ID, "Sam Stranger")
    text = await stranger.say("start")
    assert "couldn't match you to a school" in text
    assert f"link msteams:{STRANGER_ID}" in text


async def test_officer_in_a_channel_lists_and_shortlists_by_mentioning_the_bot(teams: Teams) -> None:
    await chat.complete_eoi(await chat.headteacher(teams.service))  # a submitted EOI, from the console
    officer = teams.user(OFFICER_ID, "Olu Officer", conversation_type="channel")
    text = await officer.say("list submitted")
    assert "1 EOI · page 1 of 1" in text, text
    assert officer.seen[0]["conversation_id"].startswith(ta.CHANNEL_ID)  # answered in the channel thread
    ref = officer.cards[0][1]["body"][2]["text"]  # the first row: the reference, bold
    assert ref.startswith("EOI-")

    await officer.press("Show")
    assert "Status: submitted" in officer.text
    await officer.press("Shortlist")
    assert "shortlisted" in officer.text.lower()
    async with teams.service.db.session() as session:
        eoi = await eois.by_ref(session, ref)
        assert eoi is not None and eoi.status == eois.SHORTLISTED

    # Scheduling takes its input on the card; a date it cannot read comes back on the card.
    await officer.say(f"show {ref}")
    await officer.fill("Schedule discussion", when="the day after never", place="County Hall")
    form = officer.cards[-1][1]
    when = next(n for n in _walk(form) if n.get("id") == "f_when")
    assert when["value"] == "the day after never"  # what was typed, shown again
    position = form["body"].index(when)
    assert form["body"][position + 1]["color"] == "Attention"
    await officer.fill("Schedule discussion", when="Tuesday at 2pm")
    assert "something went wrong" not in officer.text
    async with teams.service.db.session() as session:
        eoi = await eois.by_ref(session, ref)
        assert eoi is not None and eoi.status == eois.SCHEDULED

    # Not for everyone: a headteacher typing an officer command in the channel is refused.
    head = teams.user(HEAD_ID, "Pat Head", conversation_type="channel")
    assert "for ECC officers only" in await head.say(f"shortlist {ref}")


def consent_card(activity: JsonDict) -> JsonDict:
    [offer] = [a for a in activity["body"].get("attachments") or [] if a["contentType"] == FILE_CONSENT_TYPE]
    return offer


async def answer_file_offer(teams: Teams, user: User, offer: JsonDict, value: JsonDict) -> list[JsonDict]:
    """Press Allow or Decline on a file consent card: Teams sends the card's context back in an invoke."""
    invoke = ta.file_consent_invoke(
        {**value, "context": consent_card(offer)["content"]["acceptContext"]},
        user.user_id,
        user.name,
        service_url=teams.connector.service_url,
        reply_to_id=offer["activity_id"],
    )
    return await teams.post(invoke)


async def test_an_officer_exports_and_the_csv_lands_whole_in_their_onedrive(teams: Teams) -> None:
    await chat.complete_eoi(await chat.headteacher(teams.service))
    officer = teams.user(OFFICER_ID, "Olu Officer")
    await officer.say("export")
    [offer] = officer.seen
    consent = consent_card(offer)
    assert consent["name"].endswith(".csv") and consent["content"]["sizeInBytes"] > 0
    assert "ref,window,urn" not in json.dumps(offer)  # offered, not shown

    replies = await answer_file_offer(teams, officer, offer, teams.connector.file_consent_accepted(consent["name"]))
    uploaded = teams.connector.uploads[consent["name"]].decode("utf-8")
    async with teams.service.db.session() as session:
        assert uploaded == await export_csv(session, eois.Filters())
    assert len(uploaded.encode("utf-8")) == consent["content"]["sizeInBytes"]
    [info] = replies[-1]["attachments"]
    assert info["contentType"] == FILE_INFO_TYPE and info["name"] == consent["name"]
    assert info["content"]["uniqueId"].startswith("01UNIQUE") and "Export of 1 EOI" in replies[-1]["text"]


async def test_a_declined_or_forged_file_offer_uploads_nothing(teams: Teams) -> None:
    await chat.complete_eoi(await chat.headteacher(teams.service))
    officer = teams.user(OFFICER_ID, "Olu Officer")
    await officer.say("export")
    [offer] = officer.seen
    replies = await answer_file_offer(teams, officer, offer, {"type": "fileUpload", "action": "decline"})
    assert "No file sent" in shown_text(replies[-1]) and not teams.connector.uploads

    # A headteacher replaying the officer's offer with their own "Allow" is refused, and nothing is uploaded.
    head = teams.user(HEAD_ID, "Pat Head")
    name = consent_card(offer)["name"]
    replies = await answer_file_offer(teams, head, offer, teams.connector.file_consent_accepted(name))
    assert "for ECC officers only" in shown_text(replies[-1]) and not teams.connector.uploads


async def test_odd_file_consent_invokes_are_answered_and_upload_nothing(teams: Teams) -> None:
    officer = teams.user(OFFICER_ID, "Olu Officer")
    odd_values: list[Any] = [
        "accept",
        {"action": "accept"},
        {"action": "accept", "context": ["export"]},
        {"action": "accept", "context": {"eoi_export": "decide EOI-2627A-001 approve"}},
        {"action": "accept", "context": {"eoi_export": "export"}, "uploadInfo": {"uploadUrl": "file:///etc/passwd"}},
        {"action": "accept", "context": {"eoi_export": "export"}, "uploadInfo": "nowhere"},
    ]
    for value in odd_values:
        invoke = ta.file_consent_invoke(value, officer.user_id, officer.name, service_url=teams.connector.service_url)
        async with teams.http.post(teams.url, json=invoke, headers=teams.headers) as response:
            assert response.status == 200, value
    assert not teams.connector.uploads
    assert all("something went wrong" not in (a.get("text") or "") for a in teams.connector.activities)
    async with teams.service.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(EOI).where(EOI.status != eois.DRAFT)) == 0


async def test_an_export_asked_for_in_a_channel_is_not_posted_there(teams: Teams) -> None:
    await chat.complete_eoi(await chat.headteacher(teams.service))
    officer = teams.user(OFFICER_ID, "Olu Officer", conversation_type="channel")
    text = await officer.say("export")
    assert "personal chat" in text and "ref,window,urn" not in text and not consent_attachments(officer.seen)


def consent_attachments(activities: list[JsonDict]) -> list[JsonDict]:
    return [a for x in activities for a in x["body"].get("attachments") or [] if a["contentType"] == FILE_CONSENT_TYPE]


async def test_list_pages_with_buttons(teams: Teams) -> None:
    async with teams.service.db.session() as session:
        for urn in range(114000, 114000 + eois.PAGE_SIZE + 2):
            school = await session.get(School, str(urn))
            await eois.start_draft(session, school, actor="test", now=teams.service.clock.now())
        await session.commit()
    officer = teams.user(OFFICER_ID, "Olu Officer")
    assert "page 1 of 2" in await officer.say("list draft")
    assert "page 2 of 2" in await officer.press("Next page")
    assert "page 1 of 2" in await officer.press("Previous page")


async def test_school_team_hears_an_announcement_after_a_restart(
    test_db: conftest.TestDatabase, clock: Clock, connector: FakeBotConnector, teams_sdk: str
) -> None:
    service = await open_teams_service(test_db, clock, seed=True, teams_sdk=teams_sdk)
    async with service.db.session() as session:
        school = await session.get(School, "114000")
        school.teams_channel_id = ta.TEAM_ID
        await session.commit()
    async for teams in _start(service, connector):
        installed = ta.conversation_update_installed(service_url=connector.service_url)
        said = await teams.post(installed)
        assert "post ECC's announcements" in shown_text(said[0])
    await service.close()

    # A new process: nothing in memory, only the database.
    service = await open_teams_service(test_db, clock, seed=False, teams_sdk=teams_sdk)
    connector.reset()
    async for _teams in _start(service, connector):
        async with service.db.session() as session:
            await notices.to_school(
                session,
                school_urn="114000",
                kind="announcement",
                body=Reply(text=md("*Spring Term 2* is open: your school is in scope (ASD)."), kind="notice").to_dict(),
                now=clock.now(),
            )
            await session.commit()
        await service.dispatcher.plan_notices()
        stats = await service.dispatcher.run_due()
        assert stats.sent == 1, stats
    await service.close()
    [message] = connector.activities_in(ta.TEAM_ID)
    assert message["conversation_id"] == ta.TEAM_ID  # a new post in the channel, not a reply
    assert "**Spring Term 2** is open" in message["text"]


async def test_a_school_hears_in_the_channel_its_register_names_not_only_general(teams: Teams) -> None:
    senco, staffroom = "19:senco00000000000000000000000@thread.tacv2", "19:staff00000000000000000000000@thread.tacv2"
    teams.connector.team_channels[ta.TEAM_ID] = [{"id": senco, "name": "SENCo"}]
    await teams.post(ta.conversation_update_installed(service_url=teams.connector.service_url))
    # A channel added later is learnt from Teams' channelCreated event.
    created = ta.conversation_update_channel_created(staffroom, "Staff room", service_url=teams.connector.service_url)
    await teams.post(created)
    for urn, channel in (("114000", senco), ("114001", f"{staffroom};messageid=1")):
        async with teams.service.db.session() as session:
            school = await session.get(School, urn)
            school.teams_channel_id = channel
            await notices.to_school(
                session,
                school_urn=urn,
                kind="announcement",
                body=Reply(text=md("*Spring Term 2* is open."), kind="notice").to_dict(),
                now=teams.service.clock.now(),
            )
            await session.commit()
    teams.connector.reset()
    await teams.service.dispatcher.plan_notices()
    stats = await teams.service.dispatcher.run_due()
    assert stats.sent == 2 and stats.failed == 0, stats
    assert [m["conversation_id"] for m in teams.connector.activities_in(senco)] == [senco]
    assert [m["conversation_id"] for m in teams.connector.activities_in(staffroom)] == [staffroom]
    assert not teams.connector.activities_in(ta.TEAM_ID)  # nothing in General


async def test_an_eoi_started_in_teams_is_what_the_officer_sees_in_the_console(teams: Teams) -> None:
    head = teams.user(HEAD_ID, "Pat Head")
    await head.say("start")
    await head.press("Resourced Provision")
    await head.press("ASD")
    officer = chat.officer(teams.service, OFFICER[1])
    text = await officer.say("list draft")
    assert "1 EOI" in text
    ref = officer.last.facts[0].label
    text = await officer.say(f"show {ref}")
    assert "Resourced" in text and "ASD" in text


async def test_a_request_without_a_valid_token_is_refused_when_an_app_id_is_set(
    test_db: conftest.TestDatabase, clock: Clock, connector: FakeBotConnector, teams_sdk: str
) -> None:
    service = await open_teams_service(
        test_db,
        clock,
        seed=True,
        teams_sdk=teams_sdk,
        microsoft_app_id=APP_ID,
        microsoft_app_password="a-client-secret",
        microsoft_app_tenant_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    )
    forged = jwt.encode(
        {"iss": "https://evil.example", "aud": APP_ID, "exp": int(time.time()) + 600},
        "a-forger-s-secret-of-32-bytes-or-more",
        algorithm="HS256",
    )
    try:
        async for teams in _start(service, connector):
            activity = ta.message_activity("start", HEAD_ID, service_url=connector.service_url)
            await teams.post(activity, expect=401)
            teams.headers["Authorization"] = "Bearer not-a-token"
            await teams.post(activity, expect=401)
            teams.headers["Authorization"] = f"Bearer {forged}"
            await teams.post(activity, expect=401)
        assert connector.requests == []  # nothing was sent, not even a member lookup
        async with service.db.session() as session:
            assert await session.scalar(select(EOI)) is None
            assert await session.scalar(select(ConversationRef)) is None
    finally:
        await service.close()


async def test_malformed_requests_get_4xx_never_5xx(teams: Teams) -> None:
    cases: list[tuple[bytes, str]] = [
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
        (b'{"type": ""}', "application/json"),
        (b'{"type": "message"}', "application/json"),
        (json.dumps({"type": "message", "serviceUrl": 5, "conversation": "x"}).encode(), "application/json"),
        (b"hello", "text/plain"),
    ]
    for body, content_type in cases:
        async with teams.http.post(teams.url, data=body, headers={"Content-Type": content_type}) as response:
            assert 400 <= response.status < 500, (body, response.status)


async def test_a_duplicate_activity_is_handled_once(teams: Teams) -> None:
    activity = ta.message_activity("start", HEAD_ID, service_url=teams.connector.service_url)
    first = await teams.post(activity)
    again = await teams.post(activity)
    assert first and again == []
    async with teams.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == "114000"))
        assert eoi is not None and eoi.answers == {}


def _throttled_so_far() -> float:
    """429s from Teams counted for /metrics (bot.metrics.RATE_LIMITED)."""
    return metrics.REGISTRY.get_sample_value("eoi_rate_limited_total", {"platform": "msteams"}) or 0.0


async def test_throttling_is_waited_out_and_the_message_arrives_once(teams: Teams) -> None:
    throttled = _throttled_so_far()
    # Reactive: the reply to a message is throttled once, then goes.
    teams.connector.fail_next(429, retry_after=1, path_contains="/activities")
    said = await teams.post(ta.message_activity("help", OFFICER_ID, service_url=teams.connector.service_url))
    assert len(said) == 1 and "Officer commands" in shown_text(said[0])

    # Proactive: the dispatcher honours Retry-After; the officer gets the notice once.
    async with teams.service.db.session() as session:
        await notices.to_officers(
            session,
            kind="test",
            body=Reply(text="A school replied.", kind="notice").to_dict(),
            now=teams.service.clock.now(),
        )
        await session.commit()
    teams.connector.reset()
    teams.connector.fail_next(429, retry_after=1, path_contains="/activities")
    await teams.service.dispatcher.plan_notices()
    stats = await teams.service.dispatcher.run_due()
    assert stats.sent == 1 and stats.retries == 1
    assert teams.connector.texts(ta.personal_conversation_id(OFFICER_ID)) == ["A school replied."]
    async with teams.service.db.session() as session:
        [delivery] = list(await session.scalars(select(Delivery)))
        assert delivery.status == "sent" and delivery.attempts == 2
    assert _throttled_so_far() - throttled == 2  # both 429s are counted for /metrics


async def test_a_removed_bot_is_a_permanent_failure_visible_to_officers(teams: Teams) -> None:
    await teams.post(ta.message_activity("help", OFFICER_ID, service_url=teams.connector.service_url))
    await teams.post(ta.message_activity("help", HEAD_ID, service_url=teams.connector.service_url))
    async with teams.service.db.session() as session:
        await notices.to_school(
            session,
            school_urn="114000",
            kind="test",
            body=Reply(text="Shortlisted!").to_dict(),
            now=teams.service.clock.now(),
        )
        await session.commit()
    teams.connector.reset()
    teams.connector.fail_next(403, path_contains=ta.personal_conversation_id(HEAD_ID))
    await teams.service.dispatcher.plan_notices()
    stats = await teams.service.dispatcher.run_due()
    assert stats.failed == 1 and stats.retries == 0
    # The failure is a notice for the officers, which reaches the officer in Teams.
    await teams.service.dispatcher.plan_notices()
    await teams.service.dispatcher.run_due()
    [report] = teams.connector.texts(ta.personal_conversation_id(OFFICER_ID))
    assert "could not be delivered" in report and "403" in report


async def test_a_headteacher_who_installs_the_app_is_greeted_and_can_be_reached_later(teams: Teams) -> None:
    said = await teams.post(ta.conversation_update_personal_installed(HEAD_ID, teams.connector.service_url))
    assert "Expression of Interest" in shown_text(said[0])  # the school's help, so matched by email
    assert said[0]["conversation_id"] == ta.personal_conversation_id(HEAD_ID)
    async with teams.service.db.session() as session:
        school = await session.get(School, "114000")
        assert school is not None
        destinations = await teams.service.dispatcher.school_destinations(session, school)
    assert f"msteams:{HEAD_ID}" in destinations


async def test_an_officer_reads_the_history_with_names_and_london_times(teams: Teams) -> None:
    """Seen: officer views showed "msteams:29:1head114000" and "2026-12-01T14:00:00+00:00 for 60 min"."""
    head = teams.user(HEAD_ID, "Pat Head")
    await head.say("start")
    officer = chat.officer(teams.service, OFFICER[1])
    await officer.say("list draft")
    ref = officer.last.facts[0].label
    async with teams.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.ref == ref))
        assert eoi is not None
        eoi.status = eois.SHORTLISTED  # as if submitted and shortlisted, to book a discussion
        await session.commit()
    await officer.say(f"schedule {ref} Tuesday at 2pm")
    shown = await officer.say(f"show {ref}")
    assert "start by Pat Head (Teams)" in shown and HEAD_ID not in shown
    assert "Tuesday 1 December 2026 at 2:00pm for 60 min" in shown and "T14:00:00" not in shown
