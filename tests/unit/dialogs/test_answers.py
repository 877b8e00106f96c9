"""Every question type re-asks helpfully, and no text at all can make a parser raise."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.answers import AnswerContext, Problem, read_answer, value_of
from dialogs.commands import parse_command
from dialogs.questions import QUESTIONS_FILE, eoi_questions, load_questions

QUESTIONS = eoi_questions()
CTX = AnswerContext(
    today=date(2026, 11, 30),
    window_closes=date(2026, 12, 26),
    key_stages=("EYFS", "KS1", "KS2"),
    priority_options=(("ASD/resourced/Colchester/primary", "ASD: Autistic Spectrum Disorder, Colchester"),),
)


def ask(question_id: str, text: str, answers: dict | None = None):
    q = QUESTIONS.get(question_id)
    assert q is not None
    return read_answer(q, text, CTX, answers or {})


@pytest.mark.parametrize(
    ("question_id", "bad", "hint"),
    [
        ("provision_type", "a big one", "choose one of the options"),
        ("other_needs", "ASD, dragons", "I didn't recognise “dragons”"),
        ("age_range", "KS4", "Please choose from the list"),
        ("places", "lots", "isn't a whole number"),
        ("places", "40", "from 4 to 30"),
        ("start", "whenever", "Please give a date, for example"),
        ("start", "1 December 2026", "too early: it must be after the window closes on 26 December 2026"),
        ("start", "September 2031", "too far ahead: it must be by 26 December 2029"),
        ("accommodation_details", "A room", "at least 20 characters (you wrote 6)"),
        ("staff_expertise", "x" * 2001, "2,000 characters or fewer"),
        ("governance_date", "1 January 2025", "more than 12 months away"),
        ("contact_email", "head at school", "doesn't look like an email address"),
        ("contact_phone", "12345", "doesn't look like a UK phone number"),
        ("declaration", "maybe", "choose one of the options"),
    ],
)
def test_every_question_type_re_asks_with_what_would_work(question_id, bad, hint):
    result = ask(question_id, bad)
    assert isinstance(result, Problem)
    assert hint in result.message


@pytest.mark.parametrize(
    ("question_id", "typed", "stored"),
    [
        ("provision_type", "2", "partnership"),
        ("provision_type", "resourced provision", "resourced"),
        ("provision_type", "RP", "resourced"),
        ("provision_type", "pp.", "partnership"),
        ("primary_need", "asd", "ASD"),
        ("primary_need", "Speech", "SLCN"),
        ("primary_need", "autism", "ASD"),
        ("primary_need", "Dyslexia", "SpLD"),
        ("other_needs", "speech and language", ["SLCN"]),
        ("other_needs", "autism and deaf", ["ASD", "HI"]),
        ("other_needs", "1, 4 and SEMH", ["ASD", "SEMH", "MLD"]),
        ("other_needs", "none", []),
        ("places", "12 places", 12),
        ("places", "twelve", 12),
        ("places", "Twenty-four places", 24),
        ("age_range", "all of them", ["EYFS", "KS1", "KS2"]),
        ("ehcp_count", "1,200", 1200),
        ("start", "September 2027", "2027-09"),
        ("start", "1/9/27", "2027-09-01"),
        ("start", "start of the spring term 2028", "2028-01-04"),
        ("contact_email", "<mailto:Head@School.org.uk|Head@School.org.uk>", "head@school.org.uk"),
        ("contact_phone", "+44 1245 123456", "01245123456"),
    ],
)
def test_answers_people_really_type_are_understood(question_id, typed, stored):
    result = ask(question_id, typed)
    assert value_of(result) == stored
    assert not getattr(result, "confirm", "")  # stored as read, not asked back


def test_other_needs_leave_out_the_primary_need():
    answers = {"primary_need": "ASD"}
    assert ask("other_needs", "1", answers) == ["SLCN"]  # numbers follow the list shown, which starts at SLCN
    refused = ask("other_needs", "ASD, MLD", answers)
    assert isinstance(refused, Problem) and "ASD" in refused.message
    assert ask("other_needs", "MLD", answers) == ["MLD"]


def test_partnership_provision_narrows_the_places_range():
    result = ask("places", "20", {"provision_type": "partnership"})
    assert isinstance(result, Problem) and "from 4 to 16" in result.message


def test_the_question_file_is_valid_and_officers_can_reword_it(tmp_path):
    text = QUESTIONS_FILE.read_text(encoding="utf-8")
    reworded = tmp_path / "eoi.yaml"
    reworded.write_text(text.replace("How many places are you proposing?", "How many places could you offer?"))
    questions = load_questions(reworded)
    assert questions.get("places").ask == "How many places could you offer?"


@settings(max_examples=300, deadline=None)
@given(question_index=st.integers(0, len(QUESTIONS.questions)), text=st.text(max_size=300))
def test_no_text_makes_any_question_raise_and_every_refusal_says_what_works(question_index, text):
    q = (*QUESTIONS.questions, QUESTIONS.declaration)[question_index]
    result = read_answer(q, text, CTX, {})
    if isinstance(result, Problem):
        assert any(word in result.message for word in ("Please", "please", "For example", "for example"))


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_the_command_grammar_reads_any_text_without_raising(text):
    command = parse_command(text)
    assert isinstance(command.name, str)


def test_a_phone_number_is_shown_as_people_write_it() -> None:
    """Seen: "01245 123456" shown back as "01245123456" (stored as digits, shown grouped)."""
    from dialogs.answers import format_phone

    assert format_phone("01245123456") == "01245 123456"
    assert format_phone("02079460000") == "020 7946 0000"
    assert format_phone("01184960000") == "0118 496 0000"
    assert format_phone("07700900123") == "07700 900123"
    assert format_phone("03001234567") == "0300 123 4567"
    assert format_phone("0161496000") == "0161496000"  # ten digits: left as typed
