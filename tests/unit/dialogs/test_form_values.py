"""A form's values are a typed action (dialogs.actions.SubmitForm): the dialog reads each by its field's name,
never back out of one line of words, and does with them what the same command typed does."""

from __future__ import annotations

import json

from dialogs.actions import SubmitForm, Unreadable, decode, encode
from dialogs.eoi_dialog import ANSWER_FIELD
from dialogs.replies import Form, FormField
from dialogs.turns import Turn
from storage import eois
from storage.models import School
from tests.chat import LONG_VISION, RESOURCED_ANSWERS, answer_until, headteacher

SCHEDULE = Form(
    "Discussion: EOI-2627A-001",
    (
        FormField("when", "When"),
        FormField("duration", "How long", optional=True, prefix="for "),
        FormField("place", "Where", optional=True, prefix="at "),
    ),
    "schedule EOI-2627A-001",
)


def test_a_submitted_form_is_its_values_by_name_and_in_words() -> None:
    typed = {"when": " Tuesday   2pm ", "place": "County\tHall", "duration": ""}
    sent = SCHEDULE.submitted(typed)
    assert sent == SubmitForm(
        "schedule EOI-2627A-001", (("when", "Tuesday 2pm"), ("duration", ""), ("place", "at County Hall"))
    )
    assert sent.by_name["when"] == "Tuesday 2pm"
    assert sent.words == "schedule EOI-2627A-001 Tuesday 2pm at County Hall" == SCHEDULE.command_for(typed)


def test_a_submitted_form_goes_on_the_wire_and_back_like_any_action() -> None:
    sent = SCHEDULE.submitted({"when": "Tuesday 2pm", "place": "Room 1\n\n\n\nupstairs"})
    wire = encode(sent)
    assert json.loads(wire)[:3] == ["form-submit", "schedule EOI-2627A-001", "when"]
    assert decode(wire) == sent


def test_a_forged_or_broken_form_is_unreadable_and_decode_never_raises() -> None:
    for broken in (
        '["form-submit"]',
        '["form-submit","answer vision","answer"]',  # a name without its value
        '["form-submit","answer vision",3,"x"]',
        '["form-submit","answer vision","answer","' + "x" * 1001 + '"]',
        '["form-submit","answer vision",{"answer":"x"}]',
        '["form-submit","answer vision","answer","x",{"eoi":0,"state":"draft"}]',
    ):
        assert isinstance(decode(broken), Unreadable), broken


async def test_a_long_answer_from_its_form_is_kept_as_the_same_answer_typed(service) -> None:
    """A headteacher writes the vision in the larger box; another school types `answer inclusion_vision …`
    (the form's words, as cards posted before sent them): each is kept as written, and both are answered alike."""
    formed, typed = await headteacher(service), await headteacher(service, urn="114001", user="head-2")
    for chat in (formed, typed):
        await answer_until(chat, "inclusion_vision", RESOURCED_ANSWERS)
    [box] = [c for c in formed.last.choices if c.form is not None]
    assert box.form is not None and box.form.command == "answer inclusion_vision"
    written = f"  {LONG_VISION}\n\n\n\nanswer   places 3: words that look like a command stay the answer.  "
    sent = box.form.submitted({ANSWER_FIELD: written})
    formed.replies = await service.conversations.handle(Turn(formed.speaker, action=sent))
    await typed.say(f"answer inclusion_vision {written}", command=True)
    assert formed.last.kind == typed.last.kind == "question"
    assert formed.last.question_id == typed.last.question_id != "inclusion_vision"
    kept = f"{LONG_VISION}\n\nanswer places 3: words that look like a command stay the answer."
    async with service.db.session() as session:
        for urn in ("114000", "114001"):
            school = await session.get(School, urn)
            assert school is not None
            eoi = await eois.school_eoi(session, school, service.clock.now())
            assert eoi is not None and eoi.answers["inclusion_vision"] == kept, urn
