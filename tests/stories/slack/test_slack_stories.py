"""Slack, end to end over HTTP: the real app on loopback, requests signed as Slack signs them, and a fake
Slack Web API that records everything the bot sends. Each test is a story a user would tell."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dialogs.officer_commands import export_csv
from storage import eois
from storage.clock import Clock
from storage.models import EOI, AuditEntry, Delivery, Person, ProcessedEvent, School
from tests import chat
from tests.conftest import TestDatabase as _TestDatabase
from tests.fakes import slack_requests as sr
from tests.slack_fixtures import (
    HEAD_ID,
    OFFICER_ID,
    SCHOOL_CHANNEL,
    SCHOOL_URN,
    SECRET,
    SHARED_CHANNEL,
    Workspace,
    slack_workspace,
    text_of,
)
from tests.slack_fixtures import Person as SlackPerson


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


MAX_SECTION = 3000


async def answer(head: SlackPerson, value: str) -> str:
    """Answer the current question the way a person would: tick boxes, press a matching button, or type."""
    question = head.last
    before = len(head.seen)
    buttons = [
        e["text"]["text"]
        for b in question["blocks"]
        for e in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
        if e.get("type") == "button"
    ]
    if any(label.casefold() == value.casefold() for label in buttons):
        await head.press(value, messages=[question])
        how = "pressed"
    elif any(e.get("type") == "checkboxes" for b in question["blocks"] for e in b.get("elements", [])):
        await head.tick_and_done(*[v.strip() for v in value.split(",")])
        how = "ticked"
    else:
        await head.types(value)
        how = "typed"
    assert len(head.seen) > before, f"no reply to {value!r}"
    return how


async def count(slack: Workspace, model: type, *where: object) -> int:
    async with slack.service.db.session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def school_eoi(slack: Workspace) -> EOI:
    async with slack.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == SCHOOL_URN))
        assert eoi is not None
        return eoi


def no_posts_in(slack: Workspace, channel: str) -> bool:
    return not [c for c in slack.fake.calls if c.method == "chat.postMessage" and c.args.get("channel") == channel]


# ---------------------------------------------------------------------------------------- headteacher


async def test_headteacher_completes_an_eoi_in_the_dm_with_buttons_and_typed_answers(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    await head.types("hello")
    assert "start" in head.text.casefold()  # matched to the school by email: the headteacher's help

    await head.slash("start")
    assert "Question 1 of" in head.text and "EOI-" in head.text
    first_question = head.last

    how = [await answer(head, value) for value in chat.RESOURCED_ANSWERS]
    assert {"ticked", "pressed", "typed"} <= set(how), how
    review = head.last
    assert review["blocks"][0]["type"] == "header" and "EOI-" in review["blocks"][0]["text"]["text"]
    assert len(review["blocks"]) <= 50
    assert all(len(b["text"]["text"]) < MAX_SECTION for b in review["blocks"] if b["type"] == "section")
    assert "*Places*: 12" in text_of(review)

    # Change an answer from the review: the Change button beside it, a typed answer, back at the review.
    await head.press("Change Places")
    assert "How many places" in head.text
    await head.types("14")
    assert head.last["blocks"][0]["type"] == "header"
    assert "*Places*: 14" in text_of(head.last)

    await head.press("Submit")
    await head.press("I confirm")
    eoi = await school_eoi(slack)
    assert eoi.status == eois.SUBMITTED and eoi.answers["places"] == 14
    assert eoi.ref and eoi.ref in text_of(head.last)

    # A stale button from the first question neither changes nor corrupts the submitted EOI.
    await head.press("Resourced Provision", messages=[first_question])
    assert "earlier message" in head.heard and "submitted" in head.heard
    assert (await school_eoi(slack)).status == eois.SUBMITTED

    # Everything happened in the DM; nothing was posted anywhere shared.
    posted = {c.args["channel"] for c in slack.fake.calls if c.method == "chat.postMessage"}
    assert posted == {HEAD_ID}
    # One users.info per person per few minutes, not one per turn.
    assert len(slack.fake.calls_to("users.info")) == 1


async def test_a_long_answer_can_be_written_in_a_modal_and_a_problem_shows_on_the_field(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    await head.slash("start")
    for value in chat.RESOURCED_ANSWERS[:9]:
        await answer(head, value)
    assert "Describe the space" in head.text
    await head.press("Write it in a larger box")
    view = (await slack.fake.wait_for("views.open"))[-1]["view"]
    [field] = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["block_id"] == "answer" and field["element"]["multiline"] is True

    too_short = await head.submit_modal({"answer": {"value": "A room."}})
    problem = (await too_short.json())["errors"]["answer"]
    assert "at least 20 characters" in problem

    space = "Two adjoining classrooms on the ground floor.\n\nA sensory room and a fenced garden next to them."
    done = await head.submit_modal({"answer": {"value": space}})
    assert done.status == 200 and not await done.text()  # the modal closes
    assert "Question 11 of" in head.text  # the next question, in the DM
    stored = (await school_eoi(slack)).answers["accommodation_details"]
    assert stored.splitlines()[0] == "Two adjoining classrooms on the ground floor." and "fenced garden" in stored


async def test_a_stale_question_button_is_answered_kindly(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    await head.slash("start")
    first = head.last
    await head.press("Resourced Provision")
    second = head.last
    await head.types("ASD")
    # Pressing the first question's other button again is taken as "change this answer", kindly.
    await head.press("Partnership Provision", messages=[first])
    assert "Changed provision" in head.heard and "Partnership" in head.heard
    eoi = await school_eoi(slack)
    assert eoi.status == eois.DRAFT
    # A button for a question that no longer applies (a Partnership Provision is always SEMH) is refused kindly.
    await head.press("ASD", messages=[second])
    assert "earlier message; here is where we are" in head.heard and "Any other needs" in head.text
    eoi = await school_eoi(slack)
    assert eoi.status == eois.DRAFT and eoi.answers["provision_type"] == "partnership"


async def test_start_in_a_shared_channel_moves_the_dialog_to_the_dm(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    await head.slash("start", channel=SHARED_CHANNEL)
    assert "Question 1 of" in head.text  # the question went to the DM
    said = slack.ephemeral(f"cmd-{HEAD_ID}")
    assert said and "direct messages" in said[-1]["text"]
    assert all(b.get("response_type") == "ephemeral" for b in said)
    assert no_posts_in(slack, SHARED_CHANNEL)


async def test_someone_matching_no_school_is_told_how_to_get_linked(slack: Workspace) -> None:
    stranger = slack.person("U0STRANGER")
    await stranger.types("start")
    assert "couldn't match you to a school" in stranger.text
    assert "link slack:U0STRANGER URN" in stranger.text


async def test_app_home_greets_once(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    await slack.turn(sr.app_home_opened_body(HEAD_ID, tab="messages"), head)
    assert len(head.seen) == 1 and "start" in head.text.casefold()
    await slack.post(sr.app_home_opened_body(HEAD_ID, tab="messages"))
    await slack.settle()
    assert len(slack.posted_to(HEAD_ID)) == 1


async def test_the_home_tab_shows_a_headteacher_their_schools_eoi_and_an_officer_their_commands(
    slack: Workspace,
) -> None:
    head, officer = slack.person(HEAD_ID), slack.person(OFFICER_ID)
    await slack.post(sr.app_home_opened_body(HEAD_ID, tab="home"))
    await slack.settle()
    home = (await slack.fake.wait_for("views.publish"))[-1]
    assert home["user_id"] == HEAD_ID and home["view"]["type"] == "home"
    assert "no EOI yet" in text_of(home["view"])
    await head.press("Start", messages=[home["view"]])  # a Home tab button answers in the DM
    assert "Question 1 of" in head.text and slack.posted_to(HEAD_ID)

    await slack.post(sr.app_home_opened_body(HEAD_ID, tab="home"))
    await slack.settle()
    home = (await slack.fake.wait_for("views.publish", count=2))[-1]
    assert "draft" in text_of(home["view"]) and "EOI-" in text_of(home["view"])
    assert len(home["view"]["blocks"]) <= 100

    await slack.post(sr.app_home_opened_body(OFFICER_ID, tab="home"))
    await slack.settle()
    home = (await slack.fake.wait_for("views.publish", count=3))[-1]
    assert home["user_id"] == OFFICER_ID and "list" in text_of(home["view"])
    assert not officer.seen  # opening Home posts nothing in the DM


async def test_a_headteacher_sees_a_submitted_eoi_and_reopens_it_for_changes_from_slack(slack: Workspace) -> None:
    await chat.complete_eoi(await chat.headteacher(slack.service, SCHOOL_URN))
    ref = (await school_eoi(slack)).ref
    head = slack.person(HEAD_ID)
    await head.types("review")
    assert f"{ref} as you submitted it" in head.heard and "I don't know" not in head.heard
    await head.press("Change my answers")
    assert f"{ref} is open for changes" in head.heard
    head.button("Change Places")  # the review, with its answers to change
    assert (await school_eoi(slack)).status == eois.DRAFT
    await slack.deliver_notices()
    assert f"is changing {ref}" in text_of(slack.posted_to(OFFICER_ID)[-1])


# ---------------------------------------------------------------------------------------- officers


async def submitted_eoi_and_drafts(slack: Workspace, drafts: int = 11) -> str:
    """School 114000 submits (through the dialogs), eleven other schools have drafts: two pages of EOIs."""
    console_head = await chat.headteacher(slack.service, SCHOOL_URN)
    await chat.complete_eoi(console_head)
    async with slack.service.db.session() as session:
        for urn in range(114001, 114001 + drafts):
            school = await session.get(School, str(urn))
            assert school is not None
            await eois.start_draft(session, school, actor="test", now=slack.service.clock.now())
        await session.commit()
    return (await school_eoi(slack)).ref or ""


async def test_officer_lists_shortlists_schedules_and_decides_and_the_school_hears(slack: Workspace) -> None:
    ref = await submitted_eoi_and_drafts(slack)
    head, officer = slack.person(HEAD_ID), slack.person(OFFICER_ID)
    await head.types("status")  # the headteacher is known on Slack (linked to the school by email)

    # `list` typed in a shared channel: only the officer sees it, a page at a time, within Slack's limits.
    await officer.slash("list", channel=SHARED_CHANNEL)
    page1 = slack.ephemeral(f"cmd-{OFFICER_ID}")[-1]
    assert page1["response_type"] == "ephemeral" and "page 1 of 2" in text_of(page1)
    assert len(page1["blocks"]) <= 50
    assert all(len(b["text"]["text"]) < MAX_SECTION for b in page1["blocks"] if "text" in b)
    assert ref in text_of(page1)
    await officer.press("Next page", messages=[page1], channel=SHARED_CHANNEL)
    page2 = slack.ephemeral(f"act-{OFFICER_ID}")[-1]
    assert "page 2 of 2" in text_of(page2)
    officer.button("Previous page", [page2])
    assert no_posts_in(slack, SHARED_CHANNEL)

    # `show` in the DM has the action buttons.
    await officer.slash(f"show {ref}")
    for label in ("Shortlist", "Not shortlisted"):
        officer.button(label)
    await officer.press("Shortlist")
    assert "shortlisted" in officer.text.casefold()
    assert (await school_eoi(slack)).status == eois.SHORTLISTED

    await slack.deliver_notices()
    in_channel, to_head = slack.posted_to(SCHOOL_CHANNEL), slack.posted_to(HEAD_ID)
    assert "shortlisted" in text_of(in_channel[-1]).casefold() and ref in text_of(in_channel[-1])
    assert "shortlisted" in text_of(to_head[-1]).casefold()

    # Schedule through the modal: a date in the past is shown on the field, then a good one goes through.
    await officer.slash(f"show {ref}")
    await officer.press("Schedule discussion")
    opened = (await slack.fake.wait_for("views.open"))[-1]
    assert opened["trigger_id"]
    view = opened["view"]
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["when", "duration", "place", "attendees"]
    assert len(view["title"]["text"]) <= 24
    bad = await officer.submit_modal({"when": {"value": "last Monday at 2pm"}, "duration": {"value": ""}})
    assert bad.status == 200
    errors = await bad.json()
    assert errors["response_action"] == "errors" and "past" in errors["errors"]["when"]
    unreadable = await officer.submit_modal({"when": {"value": "when pigs fly"}})
    assert "Tuesday at 2pm" in (await unreadable.json())["errors"]["when"]
    assert (await school_eoi(slack)).status == eois.SHORTLISTED
    good = await officer.submit_modal(
        {"when": {"value": "Tuesday at 2pm"}, "duration": {"value": "1 hour"}, "place": {"value": "County Hall"}}
    )
    assert good.status == 200 and not await good.text()
    assert "Scheduled" in officer.text and "County Hall" in officer.text
    assert (await school_eoi(slack)).status == eois.SCHEDULED

    await slack.deliver_notices()
    invitation = slack.posted_to(HEAD_ID)[-1]
    assert "invites you" in text_of(invitation) and "County Hall" in text_of(invitation)
    assert "invites you" in text_of(slack.posted_to(SCHOOL_CHANNEL)[-1])
    head.seen.append(invitation)
    await head.press("Accept")
    assert "accepted" in head.text
    await slack.deliver_notices()
    assert "accepted" in text_of(slack.posted_to(OFFICER_ID)[-1])

    # Decide through the modal: a select, and a note for the school.
    await officer.slash(f"show {ref}")
    await officer.press("Decide")
    view = (await slack.fake.wait_for("views.open", 2))[-1]["view"]
    select_element = next(b for b in view["blocks"] if b["block_id"] == "outcome")["element"]
    assert select_element["type"] == "static_select"
    approve = next(o for o in select_element["options"] if o["value"] == "approve")
    done = await officer.submit_modal(
        {
            "outcome": {"value": {"type": "static_select", "selected_option": approve}},
            "note": {"value": "Opening September 2027"},
        },
        view=view,
    )
    assert done.status == 200
    assert "Recorded" in officer.text
    assert (await school_eoi(slack)).status == eois.APPROVED
    await slack.deliver_notices()
    decision = text_of(slack.posted_to(SCHOOL_CHANNEL)[-1])
    assert "approved" in decision and "Opening September 2027" in decision
    assert "approved" in text_of(slack.posted_to(HEAD_ID)[-1])
    # The shared channel never saw anything; every delivery went once.
    assert no_posts_in(slack, SHARED_CHANNEL)
    assert await count(slack, Delivery, Delivery.status != "sent") == 0


async def test_officer_export_from_a_channel_arrives_whole_as_a_csv_file_in_their_dm(slack: Workspace) -> None:
    ref = await submitted_eoi_and_drafts(slack)
    officer = slack.person(OFFICER_ID)
    await officer.slash("export", channel=SHARED_CHANNEL)
    [shared] = slack.fake.shared_files(f"D{OFFICER_ID}")
    assert shared["name"].endswith(".csv") and "Export of 12 EOIs" in shared["initial_comment"]
    rows = list(csv.DictReader(io.StringIO(shared["content"])))
    assert len(rows) == 12 and ref in {row["ref"] for row in rows}
    async with slack.service.db.session() as session:
        assert shared["content"] == await export_csv(session, eois.Filters())
    assert "sent the file to our direct messages" in text_of(slack.ephemeral(f"cmd-{OFFICER_ID}")[-1])
    assert no_posts_in(slack, SHARED_CHANNEL)


async def test_an_export_slack_will_not_take_as_a_file_is_shown_in_the_dm_instead(slack: Workspace) -> None:
    await submitted_eoi_and_drafts(slack, drafts=0)
    officer = slack.person(OFFICER_ID)
    slack.fake.fail_next("files.getUploadURLExternal", status=200, error="not_allowed_token_type")
    await officer.slash("export")
    assert not slack.fake.shared_files(f"D{OFFICER_ID}")
    shown = text_of(officer.last)
    assert ".csv" in shown and "```ref,window,urn" in shown


async def test_a_headteacher_cannot_use_officer_buttons_or_forms(slack: Workspace) -> None:
    ref = await submitted_eoi_and_drafts(slack, drafts=0)
    head = slack.person(HEAD_ID)
    # A crafted button value: not trusted because a button carried it.
    crafted = sr.block_actions_body(HEAD_ID, "eoi_btn_0", f"cmd|shortlist {ref}")
    await slack.turn(crafted, head)
    assert "for ECC officers only" in head.text
    # A crafted modal submission.
    from bot.slack_blocks import form_to_json
    from dialogs.officer_commands import schedule_form

    metadata = json.dumps({"form": form_to_json(schedule_form(ref))})
    response = await slack.post(
        sr.view_submission_body(HEAD_ID, "eoi_form", {"when": {"value": "Tuesday at 2pm"}}, metadata)
    )
    assert response.status == 200
    await slack.settle()
    assert (await school_eoi(slack)).status == eois.SUBMITTED
    refused = await count(slack, AuditEntry, AuditEntry.actor == f"slack:{HEAD_ID}", AuditEntry.action == "refused")
    assert refused == 2


# ---------------------------------------------------------------------------------------- security and robustness


async def test_url_verification_is_answered(slack: Workspace) -> None:
    response = await slack.post(sr.url_verification_body("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
    assert response.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in await response.text()


async def test_forged_stale_and_unsigned_requests_get_401_and_touch_nothing(slack: Workspace) -> None:
    body = sr.message_im_event_body(HEAD_ID, "start", event_id="EvFORGED1")
    forged = sr.signed_headers("not-the-secret", body)
    stale = sr.signed_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    unsigned = {"Content-Type": "application/json"}
    tampered = sr.signed_headers(SECRET, body)
    for headers, sent in ((forged, body), (stale, body), (unsigned, body), (tampered, body.replace("start", "stark"))):
        response = await slack.post(sent, headers=headers)
        assert response.status == 401
    slash = sr.slash_command_body("list", OFFICER_ID)
    assert (await slack.post(slash, headers=sr.signed_headers("wrong", slash))).status == 401
    await slack.settle()
    assert slack.fake.calls == []
    assert await count(slack, ProcessedEvent) == 0
    assert await count(slack, Person, Person.platform == "slack") == 0


async def test_a_replayed_event_is_handled_once(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    body = sr.message_im_event_body(HEAD_ID, "start", event_id="Ev0REPLAY1")
    await slack.turn(body, head)
    assert len(head.seen) == 1
    for retry in (1, 2):
        response = await slack.post(body, headers=sr.signed_headers(SECRET, body, retry_num=retry))
        assert response.status == 200
    await slack.settle()
    assert len(slack.posted_to(HEAD_ID)) == 1
    assert await count(slack, ProcessedEvent, ProcessedEvent.key == "slack:Ev0REPLAY1") == 1


async def test_bad_input_is_a_4xx_never_a_crash(slack: Workspace) -> None:
    bad_bodies = [
        "{not json",
        "[]",
        '{"type": 5}',
        json.dumps({"type": "event_callback", "event_id": "Ev1", "event": "not an object"}),
        "payload=%7Bbroken",
        "payload=" + json.dumps([1, 2]),
        "payload=" + json.dumps({"type": "block_actions", "user": {"id": HEAD_ID}, "actions": "nope"}),
        "payload=",
        "token=x&text=start",  # a slash command without its command or user
        "",
    ]
    for body in bad_bodies:
        response = await slack.post(body)
        assert 400 <= response.status < 500, (body, response.status)
    # An action nobody handles: Bolt's own 404, no crash.
    unknown = sr.block_actions_body(HEAD_ID, "somebody_elses_button", "x")
    assert (await slack.post(unknown)).status == 404
    # A modal submitted with broken metadata is acknowledged and ignored.
    broken = sr.view_submission_body(OFFICER_ID, "eoi_form", {"when": {"value": "x"}}, private_metadata="{oops")
    assert (await slack.post(broken)).status == 200
    await slack.settle()
    assert not slack.fake.calls_to("chat.postMessage")


async def test_a_429_on_a_reply_is_waited_out_and_the_message_arrives_once(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    await head.slash("start")
    attempts = slack.fake.recorded("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.9
    assert len(slack.posted_to(HEAD_ID)) == 1 and "Question 1 of" in head.text


async def test_a_typed_answer_is_acknowledged_at_once_even_when_slack_makes_its_reply_wait(slack: Workspace) -> None:
    # Slack retries an event it has no 200 for within 3 seconds. A typed answer is kept before the 200; its reply
    # goes after it, so a rate-limited DM (Retry-After) doesn't hold the 200 back.
    head = slack.person(HEAD_ID)
    await head.slash("start")
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=2, times=2)
    mark = len(slack.fake.calls)
    started = time.monotonic()
    response = await slack.post(sr.message_im_event_body(HEAD_ID, "Resourced Provision"))
    acknowledged = time.monotonic() - started
    assert response.status == 200
    assert not slack.posted_to(HEAD_ID, since=mark)  # the 200 came first: the reply is still waiting
    assert (await school_eoi(slack)).answers.get("provision_type")  # …and the answer was already kept
    # Then a button pressed at once: its reply waits its turn behind the typed answer's.
    await slack.post(sr.slash_command_body("status", HEAD_ID, response_url=slack.fake.response_url("cmd")))
    await slack.settle()
    after = slack.posted_to(HEAD_ID, since=mark)
    assert len(after) == 2, after
    assert "Question 2" in text_of(after[0]) and "Question 2" not in text_of(after[1])
    assert acknowledged < 2  # the two 429s asked for 4 s of waiting: none of it was before the 200


async def test_an_officer_whose_dm_is_busy_with_notices_still_gets_the_answer_to_their_command(slack: Workspace):
    # Found by the simulation (seed 1, 550 schools): while four officers shortlisted, each officer's DM carried a
    # run of notices at Slack's one message a second, and the reply to an officer's own command lost the race for
    # each second three times over and was dropped: the officer never saw "EOI-… is shortlisted".
    ref = await submitted_eoi_and_drafts(slack, drafts=0)
    officer = slack.person(OFFICER_ID)
    await officer.slash("help")
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=1, times=4)  # the DM's seconds are taken
    await officer.types(f"shortlist {ref} Strong offer")
    attempts = [c.status for c in slack.fake.recorded("chat.postMessage") if c.args["channel"] == OFFICER_ID]
    assert attempts[-5:] == [429, 429, 429, 429, 200]
    assert f"{ref} is shortlisted" in officer.text


async def test_a_message_typed_while_a_buttons_reply_waits_out_a_429_is_acknowledged_without_waiting_for_it(
    slack: Workspace,
) -> None:
    # Found by the simulation (seed 1, 550 schools): a command's or a button's replies were posted while the
    # person's turns were held in order, so a message they typed meanwhile got Slack's 200 only once those replies
    # had waited out their 429s: 5.7 s, and Slack gives up after 3.
    head = slack.person(HEAD_ID)
    await head.slash("start")
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=1, times=3)
    mark = len(slack.fake.calls)
    await slack.post(sr.slash_command_body("status", HEAD_ID, response_url=slack.fake.response_url("cmd")))
    while not [c for c in slack.fake.calls[mark:] if c.method == "chat.postMessage" and c.status == 429]:
        await asyncio.sleep(0.01)  # the status reply has met its first 429 and is waiting it out
    response = await slack.post(sr.message_im_event_body(HEAD_ID, "Resourced Provision"))
    assert response.status == 200
    assert not slack.posted_to(HEAD_ID, since=mark)  # the 200 came while the status reply was still waiting
    assert (await school_eoi(slack)).answers.get("provision_type")  # and the answer was kept before it
    await slack.settle()
    after = [text_of(m) for m in slack.posted_to(HEAD_ID, since=mark)]
    assert len(after) == 2 and "Question 2" not in after[0] and "Question 2" in after[1]  # in the order typed


async def test_a_429_on_a_notice_is_waited_out_and_the_school_hears_once(slack: Workspace) -> None:
    ref = await submitted_eoi_and_drafts(slack, drafts=0)
    officer = slack.person(OFFICER_ID)
    await officer.slash("help")
    await slack.deliver_notices()  # the officer hears of the submission
    assert "submitted" in text_of(slack.posted_to(OFFICER_ID)[-1])
    await slack.deliver_notices()  # nothing left: nothing goes twice
    assert [c.status for c in slack.fake.recorded("chat.postMessage")] == [200, 200]

    await officer.slash(f"shortlist {ref}")
    slack.fake.reset()
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    await slack.deliver_notices()  # to the school's channel (its headteacher isn't on Slack in this story)
    to_channel = [c for c in slack.fake.recorded("chat.postMessage") if c.args["channel"] == SCHOOL_CHANNEL]
    assert [c.status for c in to_channel] == [429, 200]
    assert len(slack.posted_to(SCHOOL_CHANNEL)) == 1
    async with slack.service.db.session() as session:
        row = await session.scalar(select(Delivery).where(Delivery.destination == f"slack:{SCHOOL_CHANNEL}"))
        assert row is not None and row.status == "sent" and row.attempts == 2


async def test_a_bot_that_died_just_after_dming_an_officer_does_not_dm_them_again(slack: Workspace) -> None:
    await submitted_eoi_and_drafts(slack, drafts=0)
    await slack.deliver_notices()  # the officer is DMed about the submission
    assert len(slack.posted_to(OFFICER_ID)) == 1
    # As if the process died after Slack took the message but before we recorded it as sent.
    async with slack.service.db.session() as session:
        row = await session.scalar(select(Delivery).where(Delivery.destination == f"slack:{OFFICER_ID}"))
        assert row is not None
        row.status, row.sent_at = "sending", None
        row.claimed_at = datetime.now(UTC) - timedelta(hours=1)  # a claim's lease is in real time
        await session.commit()
    await slack.deliver_notices()
    assert len(slack.posted_to(OFFICER_ID)) == 1  # found in the DM's history: not sent twice
    assert slack.fake.recorded("conversations.open")[-1].args["users"] == OFFICER_ID
    async with slack.service.db.session() as session:
        row = await session.scalar(select(Delivery).where(Delivery.destination == f"slack:{OFFICER_ID}"))
        assert row is not None and row.status == "sent"
        first_try = row.sending_since
    # Only the history since the first try was read (less two minutes for Slack's clock against ours), however
    # long ago the lease was taken: Slack limits conversations.history hard for apps outside its Marketplace.
    assert first_try is not None
    oldest = float(slack.fake.recorded("conversations.history")[-1].args["oldest"])
    assert oldest == pytest.approx((first_try - timedelta(minutes=2)).timestamp(), abs=0.001)


async def _officer_dmed_then_the_bot_died(slack: Workspace) -> None:
    """An officer DMed about a submission, and the process killed after Slack took the message but before the
    send was recorded: the delivery is left claimed, its lease long run out."""
    await submitted_eoi_and_drafts(slack, drafts=0)
    await slack.deliver_notices()
    assert len(slack.posted_to(OFFICER_ID)) == 1
    async with slack.service.db.session() as session:
        row = await session.scalar(select(Delivery).where(Delivery.destination == f"slack:{OFFICER_ID}"))
        assert row is not None
        row.status, row.sent_at = "sending", None
        row.claimed_at = datetime.now(UTC) - timedelta(hours=1)
        await session.commit()


async def test_a_rate_limited_look_back_after_a_crash_is_asked_again_and_the_officer_is_not_dmed_twice(
    slack: Workspace,
) -> None:
    await _officer_dmed_then_the_bot_died(slack)
    slack.fake.fail_next("conversations.history", status=429, retry_after=1)
    await slack.deliver_notices()
    # "Don't know yet" is not "not sent": Slack was asked again after its Retry-After, and found the message.
    assert [c.status for c in slack.fake.recorded("conversations.history")] == [429, 200]
    assert len(slack.posted_to(OFFICER_ID)) == 1
    async with slack.service.db.session() as session:
        row = await session.scalar(select(Delivery).where(Delivery.destination == f"slack:{OFFICER_ID}"))
        assert row is not None and row.status == "sent"


async def test_a_look_back_slack_refuses_is_not_sent_again_and_the_officers_are_told_to_check(
    slack: Workspace,
) -> None:
    await _officer_dmed_then_the_bot_died(slack)
    slack.fake.fail_next("conversations.history", status=200, error="missing_scope")
    await slack.deliver_notices()
    async with slack.service.db.session() as session:
        row = await session.scalar(select(Delivery).where(Delivery.destination == f"slack:{OFFICER_ID}"))
        assert row is not None and row.status == "failed"
        assert row.last_error.startswith("not sent again") and "missing_scope" in row.last_error
    await slack.deliver_notices()  # the officers hear of it where they work
    posted = slack.posted_to(OFFICER_ID)
    assert len(posted) == 2 and "submitted" in text_of(posted[0])  # the submission's message went once
    told = text_of(posted[1])
    assert "may not have arrived" in told and "It was not sent again" in told and "missing_scope" in told
