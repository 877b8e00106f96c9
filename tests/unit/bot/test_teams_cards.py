"""How neutral replies look in Teams (Adaptive Cards 1.4), how card submits become turns again, and that
the Teams manifest's command menu offers only commands the bot understands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import pytest
from botbuilder.schema import Activity
from microsoft_agents.activity import Activity as AgentsActivity
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from bot import teams_cards, teams_channel
from bot.service import Service
from dialogs.actions import Answer, ChangeAnswer, Command, KeepAnswer, OpenForm, Step, SubmitForm, encode
from dialogs.commands import parse_command
from dialogs.replies import Choice, Fact, Form, FormField, Reply
from dialogs.rich import md
from dialogs.turns import Speaker, Turn
from tests import chat
from tests.fakes import teams_activities as ta

ROOT = Path(__file__).resolve().parents[3]
SPEAKER = Speaker("msteams", "29:1user")


def _walk(node: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found += _walk(value)
    elif isinstance(node, list):
        for item in node:
            found += _walk(item)
    return found


def test_a_plain_reply_is_a_markdown_message() -> None:
    fields = teams_cards.render(Reply(text=md("Type *start* to begin.\nOr `help`.")))
    assert fields == {"type": "message", "text": "Type **start** to begin.\n\nOr `help`.", "textFormat": "markdown"}


def test_choices_are_submit_buttons_carrying_the_action() -> None:
    reply = Reply(
        text="Which kind?",
        choices=[
            Choice("Resourced Provision", Answer("provision_type", "resourced"), style="primary"),
            Choice("No", Command("x")),
        ],
    )
    card = teams_cards.render(reply)["attachments"][0]["content"]
    assert card["version"] == "1.4" and card["type"] == "AdaptiveCard"
    first = card["actions"][0]
    assert first == {
        "type": "Action.Submit",
        "title": "Resourced Provision",
        "data": {"eoi_action": encode(Answer("provision_type", "resourced"))},
        "style": "positive",
    }


def test_many_choices_become_a_drop_down() -> None:
    reply = Reply(text="Which need?", choices=[Choice(f"N{i}", Answer("primary_need", f"N{i}")) for i in range(12)])
    card = teams_cards.reply_card(reply)
    [picker] = [n for n in _walk(card) if n.get("id") == "eoi_choice"]
    assert len(picker["choices"]) == 12
    assert picker["choices"][3] == {"title": "N3", "value": encode(Answer("primary_need", "N3"))}
    action, *_ = teams_channel.action_for_value({"eoi_pick": 1, "eoi_choice": picker["choices"][3]["value"]})
    assert action == Answer("primary_need", "N3")
    action, _, _, problem = teams_channel.action_for_value({"eoi_pick": 1})
    assert action is None and "Choose one" in problem


def test_multiple_choice_is_a_checkbox_list_with_done() -> None:
    reply = Reply(
        text="Which key stages?",
        question_id="age_range",
        multi=True,
        selected=["KS1"],
        choices=[
            Choice("KS1", Answer("age_range", "KS1")),
            Choice("KS2", Answer("age_range", "KS2")),
            Choice("Keep", KeepAnswer("age_range")),
        ],
    )
    card = teams_cards.reply_card(reply)
    [checks] = [n for n in _walk(card) if n.get("isMultiSelect")]
    assert [c["value"] for c in checks["choices"]] == ["KS1", "KS2"] and checks["value"] == "KS1"
    assert [a["title"] for a in card["actions"]] == ["Done", "Keep"]  # side by side, not Done above Keep
    [done] = [n for n in _walk(card) if n.get("title") == "Done"]
    action, *_ = teams_channel.action_for_value({**done["data"], "eoi_values": "KS1,KS2"})
    assert action == Answer("age_range", "KS1,KS2")
    action, *_ = teams_channel.action_for_value(done["data"])
    assert action == Answer("age_range", "")  # nothing ticked: the dialog asks again
    # A card posted before actions were typed named the question itself; it still works.
    action, *_ = teams_channel.action_for_value({"eoi_multi": "age_range", "eoi_values": "KS1,KS2"})
    assert action == Answer("age_range", "KS1,KS2")


def test_a_form_opens_in_the_card_and_submits_its_values() -> None:
    form = Form(
        title="Decision: EOI-2627A-001",
        command="decide EOI-2627A-001",
        fields=(
            FormField("outcome", "Decision", options=("approve", "decline")),
            FormField("note", "Note", multiline=True, optional=True),
        ),
    )
    decide = Choice("Decide", OpenForm("decide", "EOI-2627A-001"), form=form)
    card = teams_cards.reply_card(Reply(text="EOI", choices=[decide]))
    [show] = card["actions"]
    assert show["type"] == "Action.ShowCard"
    submit = show["card"]["actions"][0]
    value = {**submit["data"], "f_outcome": "decline", "f_note": "  Not  this time "}
    action, got, values, _ = teams_channel.action_for_value(json.loads(json.dumps(value)))
    assert got == form and values == {"outcome": "decline", "note": "  Not  this time "}
    # The values by field name, as the dialog reads them; in words, as the command is typed.
    assert action == SubmitForm("decide EOI-2627A-001", (("outcome", "decline"), ("note", "Not this time")))
    assert isinstance(action, SubmitForm) and action.words == "decide EOI-2627A-001 decline Not this time"


def test_a_refused_form_comes_back_filled_in_with_the_problem_under_the_field() -> None:
    form = Form(
        title="Discussion", command="schedule X", fields=(FormField("when", "When"), FormField("place", "Where"))
    )
    refused = Reply(text="I couldn't read “soon”.", kind="error", field_errors={"when": "I couldn't read “soon”."})
    card = teams_cards.render_form_errors(form, {"when": "soon", "place": "Hall"}, refused)["attachments"][0]["content"]
    body = card["body"]
    when = next(i for i, n in enumerate(body) if n.get("id") == "f_when")
    assert body[when]["value"] == "soon"
    assert body[when + 1]["color"] == "Attention" and "soon" in body[when + 1]["text"]


def test_review_has_a_change_button_per_answer_and_stays_small() -> None:
    change_buttons = [Choice(f"Change Question {i}", ChangeAnswer(f"q{i}")) for i in range(25)]
    facts = [Fact(f"Question {i}", "x" * 3000, change) for i, change in enumerate(change_buttons)]
    reply = Reply(text="Here is everything.", kind="review", facts=facts, choices=[Choice("Submit", Step("submit"))])
    fields = teams_cards.render(reply)
    size = len(json.dumps(fields))
    assert size < teams_cards.MAX_CARD_BYTES, size  # too big as a card: degraded, but still sent
    small = Reply(text="Review", kind="review", facts=facts[:3], choices=[Choice("Submit", Step("submit"))])
    card = teams_cards.reply_card(small)
    changes = [n for n in _walk(card) if n.get("type") == "Action.Submit" and n["title"].startswith("Change")]
    assert len(changes) == 3 and changes[0]["data"] == {"eoi_action": encode(ChangeAnswer("q0"))}


def test_a_county_sized_list_too_big_for_a_card_says_how_much_it_left_out() -> None:
    # A window preview names every school in scope: hundreds. Cut to fit, the cut is at a line and is said.
    schools = [Fact(f"School {n:03}", f"Some Primary School number {n}, Colchester, ASD") for n in range(600)]
    reply = Reply(text="Who hears when the window opens:", kind="result", facts=schools)
    fields = teams_cards.render(reply)
    shown = json.dumps(fields, ensure_ascii=False)
    assert len(json.dumps(fields)) < teams_cards.MAX_CARD_BYTES
    kept = sum(f"Some Primary School number {n}," in shown for n in range(600))
    assert 0 < kept < 600
    assert f"… and {600 - kept} more lines, too many for one Teams message" in shown
    assert f"number {kept - 1}, Colchester, ASD" in shown  # the last line kept is whole


# A Bot Framework activity as each SDK reads it (EOI_TEAMS_SDK): botbuilder's msrest model, the Agents SDK's pydantic.
PARSERS = {"botbuilder": lambda raw: Activity().deserialize(raw), "agents": AgentsActivity.model_validate}


@pytest.mark.parametrize("sdk", list(PARSERS))
def test_the_bot_mention_is_stripped_from_channel_messages(sdk: str) -> None:
    parse = PARSERS[sdk]
    raw = ta.message_activity("list submitted", "29:1o", conversation_type="channel")
    assert raw["text"].startswith("<at>EOI Bot</at>")
    assert teams_channel.strip_mentions(parse(raw)) == "list submitted"
    other = ta.message_activity(
        "<at>EOI Bot</at> show EOI-2627A-001 to <at>Sam</at>",
        "29:1o",
        conversation_type="channel",
        mentions=[ta.mention_entity(), ta.mention_entity("29:1sam", "Sam")],
    )
    assert teams_channel.strip_mentions(parse(other)) == "show EOI-2627A-001 to"
    # In a personal chat only the bot's own mention goes; another's stays, as typed.
    personal = ta.message_activity(
        "<at>EOI Bot</at> tell <at>Sam</at>",
        "29:1o",
        mentions=[ta.mention_entity(), ta.mention_entity("29:1sam", "Sam")],
    )
    assert teams_channel.strip_mentions(parse(personal)) == "tell <at>Sam</at>"


def test_an_agents_sdk_connector_error_maps_as_botbuilders_does() -> None:
    def refused(status: int, retry_after: str | None = None) -> aiohttp.ClientResponseError:
        headers = CIMultiDictProxy(CIMultiDict({"Retry-After": retry_after} if retry_after else {}))
        url = URL("http://127.0.0.1/v3/conversations/a:1/activities")
        asked = aiohttp.RequestInfo(url, "POST", CIMultiDictProxy(CIMultiDict()), url)
        return aiohttp.ClientResponseError(asked, (), status=status, message="refused", headers=headers)

    throttled = teams_channel.send_failed(refused(429, "3"))
    assert throttled.retry_after == 3 and not throttled.permanent
    assert teams_channel.send_failed(refused(502)).permanent is False
    assert teams_channel.send_failed(refused(404)).permanent


def test_connector_errors_map_to_what_the_dispatcher_understands() -> None:
    class Response:
        def __init__(self, status: int, retry_after: str | None = None) -> None:
            self.status_code, self.headers = status, ({"Retry-After": retry_after} if retry_after else {})

    class Failure(Exception):
        def __init__(self, status: int, retry_after: str | None = None) -> None:
            super().__init__(f"HTTP {status}")
            self.response = Response(status, retry_after)

    throttled = teams_channel.send_failed(Failure(429, "3"))
    assert throttled.retry_after == 3 and not throttled.permanent
    assert teams_channel.send_failed(Failure(503)).permanent is False
    for status in (403, 404, 413):
        assert teams_channel.send_failed(Failure(status)).permanent


async def test_manifest_commands_are_commands_the_bot_understands(service: Service) -> None:
    manifest = json.loads((ROOT / "manifest" / "teams" / "manifest.template.json").read_text(encoding="utf-8"))
    officer = chat.officer(service)
    for command_list in manifest["bots"][0]["commandLists"]:
        for command in command_list["commands"]:
            assert parse_command(command["title"]).name == command["title"], command
            # Every example in a description ("e.g. ...") is something the bot accepts as typed.
            example = re.search(r"e\.g\. ([^|\n]+?)(?: \[|$)", command["description"])
            if example and command["title"] in ("list", "show"):
                text = await officer.say(example.group(1).strip())
                assert "I don't know" not in text and "isn't a" not in text, (command, text)


def test_the_vision_box_takes_as_much_as_the_question_allows_and_shows_one_asterisk() -> None:
    """Seen: 2,500 characters typed in the larger box, 2,000 kept (maxLength 2000 on every input), and "When * *"."""
    from dialogs.eoi_dialog import answer_form
    from dialogs.questions import eoi_questions

    vision = eoi_questions().get("inclusion_vision")
    assert vision is not None and vision.max == 3000
    card = teams_cards.form_card(answer_form(vision))
    [box] = [n for n in card["body"] if n.get("type") == "Input.Text"]
    assert box["maxLength"] == 3000 and box["isRequired"] is True
    assert not box["label"].endswith("*")  # Teams adds its own for isRequired
    # And the form survives the trip through the card's data, limit included.
    assert teams_cards.form_from_data(json.loads(json.dumps(card["actions"][0]["data"]["eoi_form_def"]))) == (
        answer_form(vision)
    )


def test_paragraphs_typed_in_the_teams_message_box_are_kept() -> None:
    """Seen: a vision typed as paragraphs arrived as one line (every whitespace collapsed)."""
    raw = ta.message_activity("First   paragraph.\r\n\r\nSecond\tparagraph.\n\n\n\nThird.", "29:1head")
    kept = "First paragraph.\n\nSecond paragraph.\n\nThird."
    assert Turn(SPEAKER, text=teams_channel.strip_mentions(Activity().deserialize(raw))).text == kept
