"""Headteachers answer in their own words: dates read as the question means them, doubtful readings asked
back before anything is stored, choices typed in words with their detail kept, lists and hedged numbers.

The clock is Monday 30 November 2026 (tests/conftest.py NOW); the demo window closes 18 December 2026."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.service import open_service
from dialogs.answers import AnswerContext, Problem, Understood, read_answer
from dialogs.dates import EXPECTS, read_date_answer
from dialogs.questions import eoi_questions
from tests.chat import RESOURCED_ANSWERS, Chat, answer_until, headteacher
from tests.conftest import make_settings

START = RESOURCED_ANSWERS.index("September 2027")  # the answers before "When could the provision open?"
GOVERNANCE = RESOURCED_ANSWERS.index("Yes, approved")


async def _at(head: Chat, question_id: str) -> None:
    """Answer the standard EOI up to `question_id`."""
    await answer_until(head, question_id)


async def _answers(service, urn: str = "114000") -> dict:
    from sqlalchemy import select

    from storage.models import EOI

    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == urn))
        return dict(eoi.answers)


# ------------------------------------------------------------------------------ dates


async def test_sept_27_for_the_opening_is_asked_back_as_september_2027_and_stored_on_yes(service):
    head = await headteacher(service)
    await _at(head, "start")
    asked = await head.say("Sept 27")
    assert "Do you mean September 2027?" in asked
    assert "start" not in await _answers(service)  # nothing stored on a doubt
    told = await head.say("yes")
    assert "Got it: September 2027." in told  # a month, kept as one
    assert (await _answers(service))["start"] == "2027-09"
    assert head.last.question_id == "places_by_year"


async def test_sep_dash_27_is_september_2027_too_and_no_lets_the_head_type_it_again(service):
    head = await headteacher(service)
    await _at(head, "start")
    assert "Do you mean September 2027?" in await head.say("Sep-27")
    text = await head.press("No")
    assert "Nothing was saved" in text and "September 2027" in text  # with an example that works
    assert head.last.question_id == "start"
    assert "start" not in await _answers(service)
    await head.say("1/9/27")
    assert (await _answers(service))["start"] == "2027-09-01"


async def test_a_doubt_waiting_for_yes_survives_a_restart(service, test_db, clock):
    head = await headteacher(service)
    await _at(head, "start")
    assert "Do you mean September 2027?" in await head.say("Sept 27")
    await service.close()
    restarted = await open_service(make_settings(test_db.url), clock=clock, db=test_db.open())
    try:
        again = await headteacher(restarted)
        assert "Got it: September 2027." in await again.say("yes")
        assert (await _answers(restarted))["start"] == "2027-09"
    finally:
        await restarted.close()


async def test_typing_a_new_answer_instead_of_yes_reads_the_new_answer(service):
    head = await headteacher(service)
    await _at(head, "start")
    await head.say("Sept 27")
    assert "Got it: January 2028." in await head.say("January 2028")
    assert (await _answers(service))["start"] == "2028-01"


async def test_next_september_is_the_coming_september(service):
    head = await headteacher(service)
    await _at(head, "start")
    assert "Got it: September 2027." in await head.say("next September")


async def test_summer_term_2027_is_essexs_published_first_day_not_one_worked_out_from_easter(service):
    head = await headteacher(service)
    await _at(head, "start")
    told = await head.say("summer term 2027")
    assert "Got it: 12 April 2027." in told  # Easter Monday + 7 days would be 5 April
    assert "estimate" not in told


async def test_a_term_essex_has_not_published_is_stored_as_a_labelled_estimate(service):
    head = await headteacher(service)
    await _at(head, "start")
    told = await head.say("start of the spring term 2028")
    assert "Got it: 4 January 2028." in told
    assert "estimate" in told and "hasn't published its 2027/28 term dates" in told


async def test_summer_2027_without_the_word_term_is_asked_back_as_the_start_of_the_summer_term(service):
    head = await headteacher(service)
    await _at(head, "start")
    assert "Do you mean the start of the summer term, 12 April 2027?" in await head.say("summer 2027")
    assert "Got it: 12 April 2027." in await head.say("yes")


async def test_october_for_an_approval_already_given_is_last_october(service):
    head = await headteacher(service)
    await _at(head, "governance_date")
    assert "Got it: October 2026." in await head.say("October")  # not October 2027


async def test_an_approval_dated_in_the_future_is_refused_with_an_example(service):
    head = await headteacher(service)
    await _at(head, "governance_date")
    text = await head.say("12 December 2026")
    assert "this asks when it happened" in text and "For example" in text
    assert head.last.question_id == "governance_date"


async def test_thurs_14th_jan_for_the_next_governors_meeting_is_thursday_14_january_2027(service):
    head = await headteacher(service)
    answers = list(RESOURCED_ANSWERS)
    answers[GOVERNANCE] = "It will be discussed at the next meeting"
    await head.say("start")
    for answer in answers[: GOVERNANCE + 1]:
        await head.say(answer)
    assert head.last.question_id == "governance_date"
    assert "Got it: 14 January 2027." in await head.say("thurs 14th jan")
    # A weekday that doesn't fit the date is said, with the right one as the example.
    await head.say("back")
    text = await head.say("fri 14th jan 2027")
    assert "14 January 2027 is a Thursday, not a Friday" in text


async def test_a_date_that_no_longer_fits_the_governors_answer_is_asked_again(service):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS:
        await head.say(answer)
    assert head.last.kind == "review"
    await head.press("Change Governing body")
    told = await head.say("It will be discussed at the next meeting")
    # 12 November 2026 has passed: it can't be the next meeting.
    assert "I'll ask Discussed on again: 12 November 2026 has passed, and it now asks for a day still to come." in told
    assert head.last.question_id == "governance_date"
    assert "When is that meeting?" in told  # the question's words follow the governors' answer


# ------------------------------------------------------------------------------ choices and numbers


async def test_mostly_with_a_reason_is_partly_and_the_reason_is_kept_and_told_back(service):
    head = await headteacher(service)
    await _at(head, "accessible_site")
    told = await head.say("mostly, theres one step into the KS1 block")
    assert "Got it: Partly." in told
    assert "“one step into the KS1 block”" in told
    answers = await _answers(service)
    assert answers["accessible_site"] == "partly"
    assert answers["accessible_site_details"] == "one step into the KS1 block"
    assert head.last.question_id == "senco_qualification"  # the detail's question is answered already


async def test_new_build_is_understood_for_the_accommodation(service):
    head = await headteacher(service)
    await _at(head, "accommodation")
    await head.say("new build")
    assert (await _answers(service))["accommodation"] == "new_build"


async def test_needs_joined_by_plus_are_split_and_speech_and_language_stays_one_need(service):
    head = await headteacher(service)
    await head.say("start")
    await head.say("Resourced Provision")
    await head.say("ASD")
    await head.say("speech and language + SEMH")
    assert (await _answers(service))["other_needs"] == ["SLCN", "SEMH"]


async def test_not_sure_maybe_ten_is_read_and_asked_back(service):
    head = await headteacher(service)
    await _at(head, "places")
    assert "Do you mean 10?" in await head.say("not sure, maybe ten?")
    assert "places" not in await _answers(service)
    assert "Got it: 10." in await head.press("Yes")
    assert (await _answers(service))["places"] == 10


async def test_about_12_is_asked_back_and_a_question_is_still_help(service):
    head = await headteacher(service)
    await _at(head, "places")
    assert "Do you mean 12?" in await head.say("about 12")
    assert "Do you mean" not in await head.say("what is a place?")  # a question about the question
    assert head.last.question_id == "places"


async def test_when_nothing_fits_the_re_ask_lists_every_choice(service):
    head = await headteacher(service)
    await _at(head, "accessible_site")
    text = await head.say("dunno really")
    assert "The options are: 1 Yes; 2 No; 3 Partly." in text


def test_the_detail_of_a_choice_goes_only_to_a_question_asked_after_it(tmp_path):
    import pytest

    from dialogs.questions import QUESTIONS_FILE, load_questions

    source = QUESTIONS_FILE.read_text(encoding="utf-8")
    (tmp_path / "eoi.yaml").write_text(source.replace("details_to: accessible_site_details", "details_to: start"))
    with pytest.raises(ValueError, match="details_to 'start' must be a question asked after it"):
        load_questions(tmp_path / "eoi.yaml")


# ------------------------------------------------------------------------------ the readers, for any text

QUESTIONS = eoi_questions()
CTX = AnswerContext(today=date(2026, 11, 30), window_closes=date(2026, 12, 26), key_stages=("KS1", "KS2"))
DATE_WORDS = st.sampled_from(
    ["sept", "27", "next", "last", "thurs", "14th", "jan", "term", "summer", "spring", "of", "the", "start",
     "2027", "/", "-", "9", "31", "october", "in", "week", "maybe", "'27", ",", "2028/29", "mon"]
)  # fmt: skip
NUMBER_WORDS = st.sampled_from(
    ["maybe", "about", "ten", "12", "not sure", ",", "?", "-ish", "places", "or", "to", "1,200", "twenty",
     "four", "-", "c.", "roughly", "ish", "say", "0", "999999999999"]
)  # fmt: skip


def _refusal_has_example(message: str) -> bool:
    return any(word in message for word in ("For example", "for example", "e.g."))


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(st.text(max_size=80), st.lists(DATE_WORDS, max_size=6).map(" ".join)),
    expects=st.sampled_from(EXPECTS),
)
def test_the_date_reader_never_raises_and_every_refusal_carries_an_example(text: str, expects: str) -> None:
    reading = read_date_answer(text, today=date(2026, 11, 30), expects=expects)
    assert reading.day is None or not reading.problem
    if reading.problem:
        assert _refusal_has_example(reading.problem)
    for question_id in ("start", "governance_date"):
        for governance in ("approved", "next_meeting"):
            result = read_answer(QUESTIONS.get(question_id), text, CTX, {"governance": governance})
            if isinstance(result, Problem):
                assert _refusal_has_example(result.message), result.message
            elif isinstance(result, Understood) and result.confirm:
                assert result.confirm.startswith("Do you mean")


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=80), st.lists(NUMBER_WORDS, max_size=5).map(" ".join)))
def test_the_number_reader_never_raises_and_every_refusal_carries_an_example(text: str) -> None:
    for question_id in ("places", "ehcp_count"):
        result = read_answer(QUESTIONS.get(question_id), text, CTX, {})
        if isinstance(result, Problem):
            assert _refusal_has_example(result.message), result.message
        elif isinstance(result, Understood):
            low, high = QUESTIONS.get(question_id).limits({})
            assert low <= result.value <= high and result.confirm == f"Do you mean {result.value:,}?"
        else:
            assert isinstance(result, int)
