"""Files people send the bot reach the turn as the channel fetched them, and only ever from where they should.

Evidence for an EOI (a site plan, photos, minutes) is sent as a file: in the Slack DM (a file_share message, its
bytes from Slack's file host with the bot token), in Teams personal chat (a file.download.info attachment, its
bytes from a pre-authenticated OneDrive link, never with the bot's token), or named on the console (`attach`,
tests/unit/bot/test_console_attach.py). What the bytes are is the dialog's business; these stories watch what
reaches it (`Conversations.handle_once`, captured) and what the fakes were asked for. The hostile part: a file over
the limit is never downloaded, a download cut short is no file, a link to anywhere else is never followed, a file
in a channel is not fetched, and Slack hears within its 3 seconds however long the files take.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from bot import downloads, teams_trust
from bot.service import Service
from bot.slack_adapter import file_url_allowed
from dialogs.replies import Reply
from dialogs.turns import ReceivedFile, Turn
from storage.clock import Clock
from storage.evidence import MAX_FILE_BYTES, MAX_FILES
from tests import conftest
from tests.fakes import slack_requests as sr
from tests.fakes import teams_activities as ta
from tests.slack_fixtures import HEAD_ID, SHARED_CHANNEL, Workspace, slack_workspace
from tests.stories.teams.test_teams_e2e import HEAD_EMAIL as TEAMS_HEAD_EMAIL
from tests.stories.teams.test_teams_e2e import HEAD_ID as TEAMS_HEAD
from tests.stories.teams.test_teams_e2e import Teams, teams_with

# A small but real PDF and PNG: the bytes must arrive exactly, whatever they are.
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


@dataclass
class Seen:
    turn: Turn
    key: str
    answered: bool  # False: handle_once found the delivery handled before


def capture(service: Service, monkeypatch: pytest.MonkeyPatch) -> list[Seen]:
    """What the runner hands the dialog, turn by turn; the dialog still runs (its answer is not what is tested)."""
    seen: list[Seen] = []
    original = service.runner.conversations.handle_once

    async def handle_once(turn: Turn, key: str, *, keep: Any = None) -> list[Reply] | None:
        replies = await original(turn, key, keep=keep)
        seen.append(Seen(turn, key, replies is not None))
        return replies

    monkeypatch.setattr(service.runner.conversations, "handle_once", handle_once)
    return seen


def shown(file: ReceivedFile) -> tuple[str, bytes, int, str]:
    return file.name, file.data, file.size, file.problem


# ------------------------------------------------------------------------------------------------ Slack
@pytest.fixture
async def slack(test_db: conftest.TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


def file_share(
    user: str,
    files: list[dict[str, Any]],
    text: str = "",
    *,
    channel: str | None = None,
    channel_type: str = "im",
    event_id: str | None = None,
) -> str:
    """A message event with files, as Slack sends one when someone shares files (with words, or none)."""
    body = json.loads(sr.message_im_event_body(user, text, channel=channel, event_id=event_id))
    body["event"].update(subtype="file_share", files=files, upload=True, channel_type=channel_type)
    if not text:
        body["event"]["blocks"] = []
    return json.dumps(body)


async def send(slack: Workspace, body: str) -> None:
    response = await slack.post(body)
    assert response.status == 200, await response.text()
    await slack.settle()


async def test_a_pdf_sent_in_the_slack_dm_reaches_the_turn_exactly(
    slack: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(slack.service, monkeypatch)
    plan = slack.fake.add_user_file("Site plan (ground floor).pdf", PDF, user=HEAD_ID, mimetype="application/pdf")
    photo = slack.fake.add_user_file("room.png", PNG, user=HEAD_ID, mimetype="image/png")

    await send(slack, file_share(HEAD_ID, [plan, photo], "our plan &amp; a photo"))

    [one] = seen
    assert one.turn.speaker.user_id == HEAD_ID and one.turn.text == "our plan & a photo"
    assert [shown(f) for f in one.turn.files] == [
        ("Site plan (ground floor).pdf", PDF, len(PDF), ""),
        ("room.png", PNG, len(PNG), ""),
    ]
    assert one.key.startswith("slack:Ev")
    assert [c["file"] for c in slack.fake.calls_to("files.info")] == [plan["id"], photo["id"]]
    # The bytes came from the file's own URL, with the bot token (files:read).
    for download in slack.fake.downloads():
        assert download.headers["Authorization"] == "Bearer xoxb-test"
        assert download.response["ok"] is True


async def test_a_file_alone_is_a_turn_with_no_words(slack: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = capture(slack.service, monkeypatch)
    plan = slack.fake.add_user_file("plan.pdf", PDF, user=HEAD_ID)
    body = json.loads(file_share(HEAD_ID, [plan]))
    del body["event"]["text"]  # sent without a word: Slack may leave the text out

    await send(slack, json.dumps(body))

    [one] = seen
    assert one.turn.text == "" and [f.data for f in one.turn.files] == [PDF]


async def test_slack_hears_at_once_however_long_the_files_take(
    slack: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(slack.service, monkeypatch)
    release = asyncio.Event()
    fetch = slack.adapter.fetch_files

    async def slow(wanted: list[tuple[str, str]]) -> tuple[ReceivedFile, ...]:
        await release.wait()  # as a 20 MB file over a slow line
        return await fetch(wanted)

    monkeypatch.setattr(slack.adapter, "fetch_files", slow)
    plan = slack.fake.add_user_file("plan.pdf", PDF, user=HEAD_ID)

    response = await asyncio.wait_for(slack.post(file_share(HEAD_ID, [plan])), timeout=2.5)

    assert response.status == 200 and seen == []  # acknowledged before the turn
    release.set()
    await slack.settle()
    assert [f.data for f in seen[0].turn.files] == [PDF]


async def test_a_fetch_that_fails_unexpectedly_still_makes_the_turn(
    slack: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(slack.service, monkeypatch)

    async def broken(wanted: list[tuple[str, str]]) -> tuple[ReceivedFile, ...]:
        raise RuntimeError("a bug in fetching")

    monkeypatch.setattr(slack.adapter, "fetch_files", broken)
    plan = slack.fake.add_user_file("plan.pdf", PDF, user=HEAD_ID)

    await send(slack, file_share(HEAD_ID, [plan], "the plan"))

    [one] = seen
    assert one.turn.text == "the plan"
    assert [shown(f) for f in one.turn.files] == [("plan.pdf", b"", 0, "unreachable")]


async def test_a_file_slack_says_is_too_big_is_never_downloaded(
    slack: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(slack.service, monkeypatch)
    big = slack.fake.add_user_file("survey.pdf", PDF, user=HEAD_ID, size=MAX_FILE_BYTES + 1)
    fine = slack.fake.add_user_file("plan.pdf", PDF, user=HEAD_ID)

    await send(slack, file_share(HEAD_ID, [big, fine]))

    [one] = seen
    assert [shown(f) for f in one.turn.files] == [
        ("survey.pdf", b"", MAX_FILE_BYTES + 1, "too_big"),
        ("plan.pdf", PDF, len(PDF), ""),
    ]
    assert slack.fake.downloads(big["id"]) == []
    assert len(slack.fake.downloads(fine["id"])) == 1


async def test_a_download_cut_short_is_unreachable_with_no_bytes(
    slack: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(slack.service, monkeypatch)
    dropped = slack.fake.add_user_file("minutes.pdf", PDF * 50, user=HEAD_ID, drop_after=100)

    await send(slack, file_share(HEAD_ID, [dropped]))

    [one] = seen
    assert [shown(f) for f in one.turn.files] == [("minutes.pdf", b"", len(PDF) * 50, "unreachable")]
    assert len(slack.fake.downloads(dropped["id"])) == 1


async def test_a_file_url_that_is_not_slacks_is_never_fetched(
    slack: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(slack.service, monkeypatch)
    elsewhere = slack.fake.add_user_file("plan.pdf", PDF, user=HEAD_ID)
    # files.info naming somewhere else (an external file, or a Slack answer tampered with): the token stays home.
    slack.fake.user_files[elsewhere["id"]]["url_private_download"] = "https://attacker.invalid/plan.pdf"
    unknown = {"id": "F0NOTKNOWN", "name": "ghost.pdf"}

    await send(slack, file_share(HEAD_ID, [elsewhere, unknown]))

    [one] = seen
    assert [shown(f) for f in one.turn.files] == [
        ("plan.pdf", b"", len(PDF), "unreachable"),
        ("ghost.pdf", b"", 0, "unreachable"),  # files.info: file_not_found
    ]
    assert slack.fake.downloads() == []


def test_slacks_file_host_is_trusted_and_the_configured_api_host_only_when_configured() -> None:
    assert file_url_allowed("https://files.slack.com/files-pri/T1-F1/download/plan.pdf")
    for url in (
        "http://files.slack.com/files-pri/T1-F1/download/plan.pdf",  # not over HTTPS
        "https://files.slack.com.attacker.invalid/plan.pdf",
        "https://files.slack.com:8443/plan.pdf",
        "https://slack.com/api/plan.pdf",
        "http://127.0.0.1:8080/files-pri/T1-F1/download/plan.pdf",  # the tests' fake, when it isn't configured
    ):
        assert not file_url_allowed(url), url
    fake = "http://127.0.0.1:8080/"
    assert file_url_allowed("http://127.0.0.1:8080/files-pri/T1-F1/download/plan.pdf", fake)
    assert not file_url_allowed("http://127.0.0.1:8081/files-pri/T1-F1/download/plan.pdf", fake)
    assert not file_url_allowed("https://127.0.0.1:8080/files-pri/T1-F1/download/plan.pdf", fake)


async def test_a_file_shared_in_a_channel_is_not_fetched(slack: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = capture(slack.service, monkeypatch)
    plan = slack.fake.add_user_file("plan.pdf", PDF, user=HEAD_ID)

    await send(slack, file_share(HEAD_ID, [plan], "for the EOI", channel=SHARED_CHANNEL, channel_type="channel"))

    assert seen == []
    assert slack.fake.calls_to("files.info") == [] and slack.fake.downloads() == []


async def test_other_message_kinds_with_files_are_still_not_turns(
    slack: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(slack.service, monkeypatch)
    plan = slack.fake.add_user_file("plan.pdf", PDF, user=HEAD_ID)
    for change in ({"subtype": "message_changed"}, {"subtype": "bot_message"}, {"bot_id": "B0OTHER"}):
        body = json.loads(file_share(HEAD_ID, [plan]))
        body["event"].update(change)
        await send(slack, json.dumps(body))

    assert seen == []
    assert slack.fake.calls_to("files.info") == [] and slack.fake.downloads() == []


async def test_at_most_one_file_more_than_an_eoi_holds_is_fetched(
    slack: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(slack.service, monkeypatch)
    sent = [slack.fake.add_user_file(f"photo-{n}.png", PNG, user=HEAD_ID) for n in range(10)]  # Slack's most

    await send(slack, file_share(HEAD_ID, sent))

    [one] = seen
    assert [f.name for f in one.turn.files] == [f"photo-{n}.png" for n in range(MAX_FILES + 1)]
    assert len(slack.fake.downloads()) == MAX_FILES + 1


async def test_a_file_event_delivered_twice_is_one_turn(slack: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = capture(slack.service, monkeypatch)
    plan = slack.fake.add_user_file("plan.pdf", PDF, user=HEAD_ID)
    body = file_share(HEAD_ID, [plan], event_id="Ev0FILES0001")

    await send(slack, body)
    await send(slack, body)  # Slack's retry: the same event_id

    assert [s.answered for s in seen] == [True, False]
    assert {s.key for s in seen} == {"slack:Ev0FILES0001"}


# ------------------------------------------------------------------------------------------------ Teams
@pytest.fixture
async def msteams(test_db: conftest.TestDatabase, clock: Clock, teams_sdk: str) -> AsyncIterator[Teams]:
    """The service on each Teams SDK, its fake connector (also the fake OneDrive) knowing the headteacher."""
    async with teams_with(test_db, clock, (TEAMS_HEAD, TEAMS_HEAD_EMAIL, "Pat Head"), teams_sdk=teams_sdk) as harness:
        yield harness


def sent_with(msteams: Teams, attachments: list[dict[str, Any]], text: str = "", **kwargs: Any) -> dict[str, Any]:
    activity = ta.message_activity(text, TEAMS_HEAD, "Pat Head", service_url=msteams.connector.service_url, **kwargs)
    activity["attachments"] = attachments
    return activity


async def test_a_file_sent_in_teams_personal_chat_reaches_the_turn_without_the_bots_token(
    msteams: Teams, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(msteams.service, monkeypatch)
    plan = msteams.connector.file_sent("Site plan.pdf", PDF)
    photo = msteams.connector.file_sent("room.png", PNG)

    await msteams.post(sent_with(msteams, [plan, photo], "our plan"))

    [one] = seen
    assert one.turn.text == "our plan"
    assert [shown(f) for f in one.turn.files] == [("Site plan.pdf", PDF, len(PDF), ""), ("room.png", PNG, len(PNG), "")]
    assert len(msteams.connector.downloads) == 2
    for download in msteams.connector.downloads:
        # The link is pre-authenticated: nothing of the bot's goes with it.
        assert not {"authorization", "cookie"} & {h.lower() for h in download["headers"]}
        assert download["path"].endswith("tempauth=pre-authenticated")


async def test_a_teams_file_link_to_a_host_not_trusted_is_never_fetched(
    msteams: Teams, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(msteams.service, monkeypatch)
    # Emulator mode (the tests): loopback only. A real OneDrive host is not loopback, and nor is anything else.
    onedrive = msteams.connector.file_sent("plan.pdf", PDF, url="https://contoso-my.sharepoint.com/download.aspx?x=1")
    attacker = msteams.connector.file_sent("minutes.pdf", PDF, url="https://attacker.invalid/minutes.pdf")
    # Loopback to urllib, the attacker's host to others: never requested at all.
    odd = msteams.connector.service_url.rstrip("/") + "\\@attacker.invalid/onedrive/download/01ITEM0000"
    tricked = msteams.connector.file_sent("photo.png", PNG, url=odd)

    await msteams.post(sent_with(msteams, [onedrive, attacker, tricked]))

    [one] = seen
    assert [shown(f) for f in one.turn.files] == [
        ("plan.pdf", b"", 0, "unreachable"),
        ("minutes.pdf", b"", 0, "unreachable"),
        ("photo.png", b"", 0, "unreachable"),
    ]
    assert msteams.connector.downloads == []


def test_teams_downloads_are_trusted_from_onedrive_over_https_only() -> None:
    allowed = teams_trust.download_url_allowed
    assert allowed(
        "https://contoso-my.sharepoint.com/personal/pat/_layouts/15/download.aspx?tempauth=x", emulator=False
    )
    for url in (
        "http://contoso-my.sharepoint.com/personal/pat/download.aspx",
        "https://contoso-my.sharepoint.com.attacker.invalid/download.aspx",
        "https://smba.trafficmanager.net/emea/v3/attachments/1/views/original",  # the Bot Framework's: needs a token
        "http://127.0.0.1:8080/onedrive/download/1",
    ):
        assert not allowed(url, emulator=False), url
    assert allowed("http://127.0.0.1:8080/onedrive/download/1", emulator=True)
    assert not allowed("https://contoso-my.sharepoint.com/download.aspx", emulator=True)


async def test_a_teams_download_cut_short_is_unreachable(msteams: Teams, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = capture(msteams.service, monkeypatch)
    dropped = msteams.connector.file_sent("minutes.pdf", PDF * 50, drop_after=100)

    await msteams.post(sent_with(msteams, [dropped]))

    [one] = seen
    assert [shown(f) for f in one.turn.files] == [("minutes.pdf", b"", 0, "unreachable")]
    assert len(msteams.connector.downloads) == 1


async def test_files_in_a_teams_channel_or_group_chat_and_pasted_pictures_are_not_fetched(
    msteams: Teams, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = capture(msteams.service, monkeypatch)
    for conversation_type in ("channel", "groupChat"):
        plan = msteams.connector.file_sent("plan.pdf", PDF)
        await msteams.post(sent_with(msteams, [plan], "status", conversation_type=conversation_type))
    # A picture pasted into personal chat: on the Bot Framework's servers, fetched only with the bot's token.
    pasted = {
        "contentType": "image/png",
        "contentUrl": f"{msteams.connector.service_url}v3/attachments/1/views/original",
    }
    await msteams.post(sent_with(msteams, [pasted], "status"))

    assert [s.turn.files for s in seen] == [(), (), ()]
    assert msteams.connector.downloads == []
    assert not any("/attachments/" in r["path"] for r in msteams.connector.requests)


# ------------------------------------------------------------------------------------------------ the fetching itself
@pytest.fixture
async def host() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A file host answering oddly: chunked with no length, compressed, redirecting."""
    asked: list[web.Request] = []

    async def chunked(request: web.Request) -> web.StreamResponse:
        asked.append(request)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"x" * 1000)
        await response.write_eof()
        return response

    async def gzipped(request: web.Request) -> web.Response:
        asked.append(request)
        return web.Response(body=b"\x1f\x8b compressed", headers={"Content-Encoding": "gzip"})

    async def away(request: web.Request) -> web.Response:
        asked.append(request)
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/gzipped", gzipped)
    app.router.add_get("/away", away)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    bound = runner.addresses[0]
    try:
        yield f"http://{bound[0]}:{bound[1]}", asked
    finally:
        await runner.cleanup()


async def _fetch(url: str, *, limit: int = MAX_FILE_BYTES, allowed: Any = None) -> ReceivedFile:
    async with downloads.session() as http:
        trust = allowed or (lambda u: u.startswith("http://127.0.0.1:"))
        return await downloads.fetch(http, url, "f.pdf", allowed=trust, timeout=5, limit=limit)


async def test_a_body_with_no_length_is_read_only_to_one_byte_over_the_limit(
    host: tuple[str, list[web.Request]],
) -> None:
    base, _ = host
    over = await _fetch(f"{base}/chunked", limit=50_000)
    assert (over.data, over.problem, over.size) == (b"", "too_big", 50_001)
    whole = await _fetch(f"{base}/chunked", limit=100_000)
    assert (len(whole.data), whole.problem) == (100_000, "")


async def test_a_compressed_body_is_taken_as_sent_not_expanded(host: tuple[str, list[web.Request]]) -> None:
    base, asked = host
    got = await _fetch(f"{base}/gzipped")
    assert got.data == b"\x1f\x8b compressed"
    assert asked[-1].headers["Accept-Encoding"] == "identity"


async def test_a_redirect_is_followed_only_to_a_trusted_host(host: tuple[str, list[web.Request]]) -> None:
    base, asked = host
    followed = await _fetch(f"{base}/away?to={base}/gzipped")
    assert followed.data == b"\x1f\x8b compressed"
    refused = await _fetch(f"{base}/away?to=https://attacker.invalid/steal")
    assert (refused.data, refused.problem) == (b"", "unreachable")
    asked.clear()
    # A URL urllib and aiohttp would read differently is never requested at all.
    odd = await _fetch(f"{base}\\@attacker.invalid/chunked")
    assert odd.problem == "unreachable" and asked == []
