"""Replies become Block Kit within Slack's limits, forms become modals, and Slack's failures become the
dispatcher's SendFailed; the Slack sender finds a school's channel and staff."""

from __future__ import annotations

import json

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot import slack_blocks as kit
from bot.service import Service
from bot.slack_adapter import SlackSender
from dialogs.actions import Answer, ChangeAnswer, Command, OpenForm, Step, encode
from dialogs.officer_commands import schedule_form
from dialogs.replies import Choice, Fact, Form, FormField, Reply
from storage import people
from storage.models import School
from tests.fakes.slack_web_api import FakeSlackWebApi


def sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def buttons(blocks: list[dict]) -> list[dict]:
    found = []
    for b in blocks:
        found += [b["accessory"]] if "accessory" in b else [e for e in b.get("elements", []) if e["type"] == "button"]
    return found


def test_long_text_is_split_into_sections_under_3000_characters() -> None:
    text = "\n".join(f"Line {n}: " + "x" * 180 for n in range(60))
    fallback, blocks = kit.render(Reply(text=text + "\n" + "y" * 7000))
    assert all(len(s) < 3000 for s in sections(blocks))
    assert "".join(sections(blocks)).replace("\n", "") == (text + "y" * 7000).replace("\n", "")
    assert len(fallback) <= 3000


def test_many_choices_fill_actions_blocks_of_at_most_25() -> None:
    choices = [Choice(f"Option {n}", Answer("q", str(n))) for n in range(30)]
    _, blocks = kit.render(Reply(text="Pick", choices=choices))
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    assert [b["value"] for b in buttons(blocks)] == [encode(Answer("q", str(n))) for n in range(30)]
    assert len({b["action_id"] for b in buttons(blocks)}) == 30  # unique within the message


def test_choices_too_long_for_a_button_are_a_drop_down_read_whole() -> None:
    """Seen: six of ten primary-need buttons over 30 characters, cut on a phone."""
    choices = [Choice(f"Option {n} " + "with a very long label " * 2, Answer("q", str(n))) for n in range(30)]
    form = Form(title="Note", command="note", fields=(FormField("note", "Note"),))
    note = Choice("Write a note", OpenForm("note", ""), form=form)
    _, blocks = kit.render(Reply(text="Pick", choices=[*choices, note]))
    [pick] = [e for b in blocks for e in b.get("elements", []) if e["type"] == "static_select"]
    assert [o["value"] for o in pick["options"]] == [encode(Answer("q", str(n))) for n in range(30)]
    assert pick["options"][0]["text"]["text"] == choices[0].label  # whole: under a select option's 75
    assert [b["text"]["text"] for b in buttons(blocks)] == ["Write a note"]


def test_a_huge_list_never_exceeds_50_blocks() -> None:
    facts = [
        Fact(f"EOI-2627A-{n:03d}", "School " * 20, Choice("Show", Command(f"show EOI-2627A-{n:03d}")))
        for n in range(80)
    ]
    reply = Reply(text="80 EOIs", title="EOIs", facts=facts, choices=[Choice("Next page", Command("list page 2"))])
    _, blocks = kit.render(reply)
    assert len(blocks) <= 50
    assert all(len(s) < 3000 for s in sections(blocks))
    assert any(b["value"] == encode(Command("list page 2")) for b in buttons(blocks))
    assert any(b["value"] == encode(Command("show EOI-2627A-079")) for b in buttons(blocks))


def test_review_has_a_change_button_beside_each_answer_and_submit() -> None:
    change = Choice("Change Places", ChangeAnswer("places"))
    facts = [Fact("Places", "12", change), Fact("Vision", "Every child belongs")]
    reply = Reply(
        text="Here is everything",
        kind="review",
        title="School: EOI-1",
        facts=facts,
        choices=[Choice("Submit", Step("submit"), style="primary")],
    )
    _, blocks = kit.render(reply)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "School: EOI-1"}}
    places = next(b for b in blocks if b.get("text", {}).get("text") == "*Places*: 12")
    assert places["accessory"]["value"] == encode(ChangeAnswer("places"))
    (submit,) = [b for b in buttons(blocks) if b["value"] == encode(Step("submit"))]
    assert submit["style"] == "primary" and blocks[-1]["elements"] == [submit]


def test_a_change_button_too_long_for_a_phone_beside_its_answer_is_the_verb_read_whole_by_a_screen_reader() -> None:
    change = Choice("Change The school or trust's contribution", ChangeAnswer("school_contribution"))
    reply = Reply(text="Here is everything", kind="review", facts=[Fact("Contribution", "Yes", change)])
    _, blocks = kit.render(reply)
    (beside,) = [b["accessory"] for b in blocks if b.get("accessory")]
    assert beside["text"]["text"] == "Change"
    assert beside["accessibility_label"] == "Change The school or trust's contribution"
    assert beside["value"] == encode(ChangeAnswer("school_contribution"))


def test_multiple_choice_becomes_checkbox_groups_of_ten_and_done() -> None:
    codes = [f"N{n}" for n in range(12)]
    choices = [Choice(f"{c}: need", Answer("needs", c)) for c in codes] + [Choice("None", Answer("needs", "none"))]
    reply = Reply(
        text="Which?", kind="question", question_id="needs", choices=choices, multi=True, selected=["N1", "N11"]
    )
    _, blocks = kit.render(reply)
    groups = [e for b in blocks for e in b.get("elements", []) if e["type"] == "checkboxes"]
    assert [len(g["options"]) for g in groups] == [10, 2]
    assert [o["value"] for g in groups for o in g.get("initial_options", [])] == ["N1", "N11"]
    done_then_none = [encode(Answer("needs", "")), encode(Answer("needs", "none"))]
    assert [b["value"] for b in buttons(blocks)] == done_then_none
    state = {
        "multi_0": {"eoi_multi_0": {"type": "checkboxes", "selected_options": [{"value": "N2"}]}},
        "multi_1": {"eoi_multi_1": {"type": "checkboxes", "selected_options": [{"value": "N10"}]}},
        "other": {"x": {"type": "plain_text_input", "value": "ignored"}},
    }
    assert kit.checked_values(state) == ["N2", "N10"]
    assert kit.checked_values({"bad": "shape"}) == []  # type: ignore[dict-item]


def test_a_form_button_opens_a_modal_whose_errors_land_on_fields() -> None:
    form = schedule_form("EOI-2627A-001")
    schedule = Choice("Schedule discussion", OpenForm("schedule", "X"), form=form)
    _, blocks = kit.render(Reply(text="x", choices=[schedule]))
    button = buttons(blocks)[0]
    assert button["action_id"].startswith(kit.FORM_BUTTON) and len(button["value"]) <= 2000
    assert kit.form_from_json(button["value"]) == form
    view = kit.form_view(form, {"channel": "D1"})
    assert len(view["title"]["text"]) <= 24 and len(view["submit"]["text"]) <= 24
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["when", "duration", "place", "attendees"]
    assert json.loads(view["private_metadata"])["channel"] == "D1"
    state = {"when": {"value": {"value": "Tuesday at 2pm"}}, "place": {"value": {"value": "County Hall"}}}
    assert form.command_for(kit.form_values(form, state)) == "schedule EOI-2627A-001 Tuesday at 2pm at County Hall"


def test_a_choice_field_becomes_a_static_select() -> None:
    form = Form(
        "Decision: EOI-2627A-001", (FormField("outcome", "Decision", options=("approve", "decline")),), "decide X"
    )
    element = kit.form_view(form, {})["blocks"][-1]["element"]
    assert element["type"] == "static_select" and [o["value"] for o in element["options"]] == ["approve", "decline"]
    state = {"outcome": {"value": {"type": "static_select", "selected_option": {"value": "decline"}}}}
    assert kit.form_values(form, state) == {"outcome": "decline"}


def test_an_export_is_shown_as_csv_code_or_says_it_is_too_large() -> None:
    _, blocks = kit.render(Reply(text="Export of 1 EOI.", file=("eois.csv", "ref,urn\nEOI-1,114000\n")))
    assert "```ref,urn\nEOI-1,114000```" in sections(blocks)
    _, blocks = kit.render(Reply(text="Export", file=("eois.csv", "x" * 200_000)))
    assert len(blocks) <= 50 and "too large" in sections(blocks)[-1]


# ---------------------------------------------------------------------------------------- sender


@pytest.fixture
async def fake() -> FakeSlackWebApi:
    async with FakeSlackWebApi() as fake:
        yield fake


def sender(fake: FakeSlackWebApi) -> SlackSender:
    from slack_sdk.web.async_client import AsyncWebClient

    return SlackSender(AsyncWebClient(token="xoxb-test", base_url=fake.base_url, retry_handlers=[]))


@pytest.mark.parametrize(
    ("status", "error", "permanent", "retry_after"),
    [
        (429, None, False, 7.0),
        (500, None, False, None),
        (503, None, False, None),
        (200, "channel_not_found", True, None),
        (200, "not_in_channel", True, None),
        (200, "is_archived", True, None),
        (200, "account_inactive", True, None),
        (200, "invalid_blocks", True, None),
    ],
)
async def test_slack_failures_become_send_failed(
    fake: FakeSlackWebApi, status: int, error: str | None, permanent: bool, retry_after: float | None
) -> None:
    from bot.delivery import SendFailed

    fake.fail_next("chat.postMessage", status=status, retry_after=7, error=error)
    with pytest.raises(SendFailed) as failed:
        await sender(fake).send("slack:C1", Reply(text="hello"))
    assert failed.value.permanent is permanent
    assert failed.value.retry_after == retry_after
    assert len(fake.calls_to("chat.postMessage")) == 1  # no retry inside send


async def test_sender_sends_once_and_refuses_other_platforms(fake: FakeSlackWebApi) -> None:
    from bot.delivery import SendFailed

    await sender(fake).send("slack:C1", Reply(text="Shortlisted", title="EOI-1: shortlisted"))
    (call,) = fake.calls_to("chat.postMessage")
    assert call["channel"] == "C1" and "Shortlisted" in call["text"]
    with pytest.raises(SendFailed) as failed:
        await sender(fake).send("msteams:19:abc", Reply(text="x"))
    assert failed.value.permanent


async def test_school_and_officer_destinations(service: Service, fake: FakeSlackWebApi) -> None:
    async with service.db.session() as session:
        school = await session.get(School, "114000")
        assert school is not None
        school.slack_channel_id = "C0SCHOOL"
        now = service.clock.now()
        heads = (("slack", "U1", "114000"), ("msteams", "29:x", "114000"), ("slack", "U2", "114001"))
        for platform, user, urn in heads:
            linked = await session.get(School, urn)
            assert linked is not None
            await people.link(session, actor="t", platform=platform, user_id=user, school=linked, now=now)
        for platform, user in (("slack", "U9"), ("console", "o")):
            await people.grant_officer(session, actor="t", platform=platform, user_id=user, now=now)
        await session.flush()
        # Who hears is decided once (storage.audiences); the Slack sender only gives each its address, and the
        # Teams head (no Teams sender enabled here) and the console officer are not reachable on Slack.
        service.senders.append(sender(fake))
        assert await service.dispatcher.school_destinations(session, school) == ["slack:C0SCHOOL", "slack:U1"]
        assert await service.dispatcher.officer_destinations(session) == ["slack:U9"]


async def test_officers_named_in_eoi_officers_hear_from_us_before_they_first_talk(service: Service) -> None:
    service.senders.append(SlackSender(AsyncWebClient(token="xoxb-test")))
    service.dispatcher.officers = (("slack", "U0BOOT"),)  # EOI_OFFICERS
    async with service.db.session() as session:
        await people.grant_officer(session, actor="t", platform="slack", user_id="U9", now=service.clock.now())
        await session.flush()
        assert await service.dispatcher.officer_destinations(session) == ["slack:U0BOOT", "slack:U9"]


def test_the_vision_modal_takes_as_much_as_the_question_allows() -> None:
    from dialogs.eoi_dialog import answer_form
    from dialogs.questions import eoi_questions

    vision = eoi_questions().get("inclusion_vision")
    assert vision is not None
    view = kit.form_view(answer_form(vision), {})
    [field] = [b["element"] for b in view["blocks"] if b["type"] == "input"]
    assert field["max_length"] == 3000 and field["multiline"] is True
    assert kit.form_from_json(kit.form_to_json(answer_form(vision))) == answer_form(vision)


def test_decision_choices_read_as_words_not_codes() -> None:
    form = Form(
        title="Decision",
        command="decide EOI-2627A-001",
        fields=(FormField("outcome", "Decision", options=("approve", "decline")),),
    )
    view = kit.form_view(form, {})
    [select] = [b["element"] for b in view["blocks"] if b["type"] == "input"]
    assert [(o["text"]["text"], o["value"]) for o in select["options"]] == [
        ("Approve", "approve"),
        ("Decline", "decline"),
    ]


def test_an_aside_is_italic_in_slack_with_its_spaces_outside_the_marks() -> None:
    from dialogs.rich import italic, rich

    shown = kit.mrkdwn(rich("Question 6. ", italic("It must be after the window closes. "), "Type _help_"))
    assert shown.startswith("Question 6. _It must be after the window closes._ Type ")
    assert not shown.endswith("_help_")  # typed underscores stay literal: they can't pair up
