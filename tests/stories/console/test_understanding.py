"""Officers and headteachers in their own words, second round: windows by the names people say, "next Tuesday"
asked back, times as they are said, typos asked about, commands typed mid-question, answers changed by their
words, one way to name an EOI, and a month kept as a month.

The clock is Monday 30 November 2026, 10:00 (tests/conftest.py NOW); the demo window (Autumn Term 1 2026/27,
2627A) is open and closes 26 December 2026."""

from __future__ import annotations

import re
from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dialogs.dates import read_meeting_time
from storage.models import EOI
from tests.chat import RESOURCED_ANSWERS, Chat, answer_until, complete_eoi, headteacher, officer
from tests.conftest import LONDON, NOW


async def _answers(service, urn: str = "114000") -> dict:
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == urn).order_by(EOI.id.desc()))
        return dict(eoi.answers)


_at = answer_until


async def _submitted(service, urn: str = "114000", user: str = "head-1") -> str:
    said = await complete_eoi(await headteacher(service, urn=urn, user=user))
    return re.search(r"EOI-2627A-\d{3}", said).group(0)


async def _shortlisted(service) -> tuple[str, Chat]:
    """A submitted EOI, shortlisted, and the officer's console."""
    ref = await _submitted(service)
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    return ref, desk


# ------------------------------------------------------------------------------ windows by name


async def test_an_officer_names_a_window_as_they_say_it_spring_2027_and_every_window_command_finds_it(service):
    desk = officer(service)
    asked = await desk.say("window add spring 2027 opens 1 March closes 26 March")
    # Understood as Spring Term 2 2026/27, and asked about, as a close on a bank holiday is (Good Friday).
    assert "Add Spring Term 2 2026/27, opening Monday 1 March 2027" in asked and "Good Friday" in asked
    added = await desk.press("Yes, add it")
    assert "Added Spring Term 2 2026/27 (2627S)" in added
    assert "opens Monday 1 March 2027 at 9:00am, closes Friday 26 March 2027 at 5:00pm" in added
    assert "Spring Term 2 2026/27" in await desk.say("window preview spring")
    changed = await desk.say("window change spring 2027 opens 1 March")
    assert "now opens Monday 1 March 2027 at 9:00am" in changed
    opened = await desk.say("window open spring 2027")  # found, and refused for the real reason
    assert "It would overlap Autumn Term 1 2026/27" in opened
    assert "There is no window" not in opened


async def test_a_window_closing_on_christmas_eve_at_noon_is_read(service):
    desk = officer(service)
    said = await desk.say("window change autumn 2026 closes Christmas Eve at noon")
    assert "closes Thursday 24 December 2026 at 12:00pm" in said


async def test_a_window_named_in_other_ways_is_found_and_a_window_that_isnt_there_is_refused(service):
    desk = officer(service)
    for said in ("autumn", "Autumn Term 1 2026/27", "autumn term 1 2026", "2627a", '"autumn 2026"'):
        assert "Preview: Autumn Term 1 2026/27" in await desk.say(f"window preview {said}"), said
    assert "There is no window “spring 2031”" in await desk.say("window preview spring 2031")
    added = await desk.say("window add autumn 2028 opens 1 Sep closes 20 Oct")  # in the window's own year
    assert "opens Friday 1 September 2028 at 9:00am, closes Friday 20 October 2028 at 5:00pm" in added
    refused = await desk.say("window add summer 2027 opens 1 May closes 20 May")
    assert "Say which window and its dates" in refused


# ------------------------------------------------------------------------------ near days


async def test_next_tuesday_at_2_on_a_monday_is_asked_back_and_the_button_books_the_one_meant(service):
    ref, desk = await _shortlisted(service)
    asked = await desk.say(f"schedule {ref} next Tuesday at 2 at County Hall")
    assert "Do you mean Tuesday 1 December at 2:00pm or Tuesday 8 December at 2:00pm?" in asked
    assert "Scheduled" not in asked
    booked = await desk.press("Tuesday 8 December")
    assert "Scheduled" in booked and "Tuesday 8 December 2026 at 2:00pm" in booked and "County Hall" in booked


def test_next_weekday_is_asked_only_when_it_could_mean_this_week_or_next() -> None:
    monday = NOW
    reading = read_meeting_time("next Tuesday at 2", now=monday)
    assert [d.day for d in reading.either] == [1, 8] and "e.g." in reading.problem.plain
    for typed in ("next Wednesday at 10am", "next Friday 2pm", "next Sunday at 11am"):
        assert len(read_meeting_time(typed, now=monday).either) == 2, typed
    # "next Monday" on a Monday is next week's; "Tuesday" and "this Tuesday" are the coming one.
    assert read_meeting_time("next Monday at 10am", now=monday).starts.day == 7
    assert read_meeting_time("Tuesday at 2pm", now=monday).starts.day == 1
    assert not read_meeting_time("this Tuesday at 2pm", now=monday).either
    friday = datetime(2026, 12, 4, 10, tzinfo=LONDON)
    assert read_meeting_time("next Tuesday at 2pm", now=friday).starts.day == 8
    assert not read_meeting_time("next Tuesday at 2pm", now=friday).either


# ------------------------------------------------------------------------------ times people say


def test_times_as_people_say_them_are_read() -> None:
    cases = {
        "half 2 on Friday": datetime(2026, 12, 4, 14, 30),
        "quarter past 3 on Thursday": datetime(2026, 12, 3, 15, 15),
        "Friday 14h": datetime(2026, 12, 4, 14, 0),
        "quarter to 4 tomorrow": datetime(2026, 12, 1, 15, 45),
        "tomorrow at half past ten": datetime(2026, 12, 1, 10, 30),
        "Thursday 9h30": datetime(2026, 12, 3, 9, 30),
        "Wednesday at 3 o'clock": datetime(2026, 12, 2, 15, 0),
        "3/12 at twenty past two": datetime(2026, 12, 3, 14, 20),
        "1400hrs on Friday": datetime(2026, 12, 4, 14, 0),
    }
    for typed, expected in cases.items():
        reading = read_meeting_time(typed, now=NOW)
        assert reading.starts == expected.replace(tzinfo=LONDON), (typed, reading)


def test_a_part_of_a_day_is_a_range_to_pick_from() -> None:
    afternoon = read_meeting_time("thursday afternoon", now=NOW)
    assert afternoon.starts == datetime(2026, 12, 3, 13, tzinfo=LONDON)
    assert afternoon.until == datetime(2026, 12, 3, 17, tzinfo=LONDON)
    morning = read_meeting_time("Friday morning", now=NOW)
    assert (morning.starts.hour, morning.until.hour) == (9, 12)
    assert "e.g." in morning.problem.plain  # a caller that books one time asks for it, with an example


async def test_an_officer_told_thursday_afternoon_picks_an_hour_from_buttons(service):
    ref, desk = await _shortlisted(service)
    asked = await desk.say(f"schedule {ref} thursday afternoon")
    assert "Thursday afternoon is a range (1:00pm–5:00pm)" in asked
    booked = await desk.press("Thursday 3 December at 3:00pm")
    assert "Scheduled" in booked and "Thursday 3 December 2026 at 3:00pm" in booked
    moved = await desk.say(f"schedule {ref} Friday at quarter to 3 at County Hall")  # "at" a time, then a place
    assert "Rescheduled" in moved and "Friday 4 December 2026 at 2:45pm for 60 minutes at County Hall" in moved


async def test_next_friday_morning_on_a_monday_asks_which_friday_then_which_hour(service):
    ref, desk = await _shortlisted(service)
    asked = await desk.say(f"schedule {ref} next Friday morning at County Hall")
    assert "Do you mean Friday 4 December or Friday 11 December (morning)?" in asked
    hours = await desk.press("Friday 11 December (morning)")
    assert "Friday morning is a range (9:00am–12:00pm)" in hours
    booked = await desk.press("Friday 11 December at 10:00am")
    assert "Scheduled" in booked and "Friday 11 December 2026 at 10:00am for 60 minutes at County Hall" in booked


async def test_a_school_offers_thursday_afternoon_or_friday_morning_and_the_officer_can_book_an_hour_of_each(service):
    ref, desk = await _shortlisted(service)
    await desk.say(f"schedule {ref} 7/12 at 10am")
    head = await headteacher(service)
    said = await head.say("another time thursday afternoon or friday morning")
    assert "Thursday 3 December 2026 at 1:00pm to 5:00pm" in said
    assert "Friday 4 December 2026 at 9:00am to 12:00pm" in said
    async with service.db.session() as session:
        from storage.models import Notice

        notice = (await session.scalars(select(Notice).order_by(Notice.id.desc()))).first()
        labels = [c["label"] for c in notice.body["choices"]]
    assert "Book Thu 3 Dec 1:00pm" in labels and "Book Thu 3 Dec 4:00pm" in labels
    assert "Book Fri 4 Dec 9:00am" in labels and "Book Fri 4 Dec 11:00am" in labels


# ------------------------------------------------------------------------------ typos


async def test_resorced_is_asked_back_as_resourced_provision_and_stored_only_on_yes(service):
    head = await headteacher(service)
    await head.say("start")
    asked = await head.say("resorced")
    assert "Do you mean Resourced Provision?" in asked
    assert "provision_type" not in await _answers(service)  # never silently taken
    await head.say("yes")
    assert (await _answers(service))["provision_type"] == "resourced"
    assert head.last.question_id == "primary_need"
    asked = await head.say("autsm")
    assert "Do you mean ASD: Autistic Spectrum Disorder?" in asked
    await head.press("No")
    assert "primary_need" not in await _answers(service)
    assert head.last.question_id == "primary_need"


def test_slips_in_a_choice_are_found_by_edit_distance_and_short_codes_never_guessed() -> None:
    from dialogs.answers import AnswerContext, Problem, Understood, read_answer
    from dialogs.questions import eoi_questions

    questions, ctx = eoi_questions(), AnswerContext(today=date(2026, 11, 30))
    so_far = {"provision_type": "resourced", "primary_need": "ASD"}
    meant = {
        ("provision_type", "resorced"): "resourced",
        ("provision_type", "partnershp"): "partnership",
        ("provision_type", "Resourced Provison"): "resourced",
        ("primary_need", "autsm"): "ASD",
        ("primary_need", "autsim"): "ASD",
        ("primary_need", "dyslexa"): "SpLD",
        ("accommodation", "new biuld"): "new_build",
        ("other_needs", "dyslexa, MLD"): ["MLD", "SpLD"],
        ("other_needs", "speach and language, MLD"): ["SLCN", "MLD"],
        ("provision_type", "Resourced Provisoin"): "resourced",
        ("governance", "aproved"): "approved",
    }
    for (qid, typed), value in meant.items():
        read = read_answer(questions.get(qid), typed, ctx, so_far)
        assert isinstance(read, Understood) and read.value == value and read.confirm.startswith("Do you mean"), typed
    meant_exactly = {
        ("accessible_site", "yes, fully"): "yes",
        ("other_needs", "speech and language, MLD"): ["SLCN", "MLD"],
    }
    for (qid, typed), value in meant_exactly.items():  # no slip, nothing asked
        read = read_answer(questions.get(qid), typed, ctx, so_far)
        assert not isinstance(read, Understood) or not read.confirm, typed
        assert (read.value if isinstance(read, Understood) else read) == value, typed
    for qid, typed in (("primary_need", "SLF"), ("primary_need", "ASX"), ("provision_type", "resourcing units")):
        assert isinstance(read_answer(questions.get(qid), typed, ctx, so_far), Problem), typed


async def test_start_resorced_is_asked_back_with_a_button_that_starts_it(service):
    head = await headteacher(service)
    asked = await head.say("start resorced")
    assert "Do you mean Resourced Provision?" in asked
    started = await head.press("Yes")
    assert "Resourced Provision" in started and head.last.question_id == "primary_need"


# ------------------------------------------------------------------------------ commands mid-question


async def test_start_pp_typed_during_a_draft_is_a_command_not_an_answer(service):
    head = await headteacher(service)
    await _at(head, "places")
    said = await head.say("start PP")
    assert "didn't recognise" not in said and "Partnership Provision" in said, said
    assert head.last.question_id == "other_needs", said  # a PP is SEMH: its first question after the type


async def test_start_with_a_reference_typed_during_a_draft_carries_on_that_eoi(service):
    head = await headteacher(service)
    await _at(head, "places")
    rp = re.search(r"EOI-2627A-\d{3}", await head.say("status")).group(0)
    await head.say("start PP")
    said = await head.say(f"start {rp.lower()}")
    assert f"Carrying on with {rp}" in said and head.last.question_id == "places"
    said = await head.say("start of the spring term 2028")  # an answer that begins with "start" stays one
    assert "didn't recognise" not in said


def test_only_a_command_that_names_an_eoi_or_a_provision_is_taken_mid_question() -> None:
    from dialogs.questions import eoi_questions
    from dialogs.references import command_mid_question

    provisions = eoi_questions().get("provision_type")
    commands = ("start PP", "start EOI-2627A-002", "start Partnership Provision", "start rp", "review eoi-2627a-2")
    answers = ("start of the spring term 2028", "start", "status", "start in September", "start PP and RP soon")
    for typed in commands:
        assert command_mid_question(typed, list(provisions.choices), provisions.aliases), typed
    for typed in answers:
        assert not command_mid_question(typed, list(provisions.choices), provisions.aliases), typed


async def test_change_places_typed_at_another_question_changes_that_answer_and_comes_back(service):
    head = await headteacher(service)
    await _at(head, "accommodation")
    await head.say("change places")
    assert head.last.question_id == "places"
    await head.say("14")
    assert (await _answers(service))["places"] == 14


# ------------------------------------------------------------------------------ changing by words


async def test_change_the_date_the_governors_discussed_it_at_the_review_opens_that_question(service):
    head = await headteacher(service)
    await complete_eoi_to_review(head)
    for typed in ("I want to submit now", "ok thanks"):  # says nothing about an answer: still at the review
        await head.say(typed)
        assert head.last.kind == "review", typed
    said = await head.say("change the date the governors discussed it")
    assert head.last.question_id == "governance_date", said
    for typed, qid in (
        ("change places", "places"),
        ("contact email", "contact_email"),
        ("change the number of pupils with an EHCP", "ehcp_count"),
        ("change governance_date", "governance_date"),
    ):
        await head.say("review")
        await head.say(typed)
        assert head.last.question_id == qid, typed


async def complete_eoi_to_review(head: Chat) -> None:
    await head.say("start")
    for answer in RESOURCED_ANSWERS:
        await head.say(answer)
    assert head.last.kind == "review", head.text


# ------------------------------------------------------------------------------ one way to name an EOI


async def test_shortlist_takes_a_urn_as_show_does_and_show_takes_a_reference_in_any_case_unpadded(service):
    ref = await _submitted(service, urn="114001", user="head-2")
    desk = officer(service)
    number = int(ref.rsplit("-", 1)[1])
    shown = await desk.say(f"show eoi-2627a-{number}")
    assert ref in shown and "No EOI" not in shown
    said = await desk.say("shortlist 114001")
    assert f"{ref} is shortlisted" in said


async def test_every_command_that_takes_a_reference_takes_a_urn_a_name_or_a_loose_reference(service):
    ref = await _submitted(service, urn="114001", user="head-2")
    desk = officer(service)
    number = int(ref.rsplit("-", 1)[1])
    assert f"{ref} is shortlisted" in await desk.say(f"shortlist {ref.lower()}")
    scheduled = await desk.say(f"schedule Eoi-2627a-{number} Tuesday at 2pm")
    assert "Scheduled" in scheduled and ref in scheduled
    assert "Cancelled" in await desk.say("cancel discussion 114001 The head is unwell")
    said = await desk.say("outcome 114001")
    assert "There is no EOI" not in said
    assert "There is no EOI “EOI-2627A-999”" in await desk.say("shortlist EOI-2627A-999")


async def test_an_officer_marks_a_milestone_done_naming_the_eoi_by_urn_and_a_bad_reference_is_refused(service):
    ref, desk = await _shortlisted(service)
    await desk.say(f"schedule {ref} 3/12 10:30")
    assert f"Recorded: {ref} approved" in await desk.say("decide 114000 approve")
    assert "Marked done: Service level agreement signed" in await desk.say("done 114000 sla")
    refused = await desk.say("done EOI-2627A-999 sla")
    assert "There is no EOI “EOI-2627A-999”" in refused


async def test_a_school_with_two_eois_is_asked_about_with_a_button_for_each(service):
    head = await headteacher(service)
    rp = await _submitted(service)
    await head.say("start PP")
    pp = re.search(r"EOI-2627A-\d{3}", head.text).group(0)
    desk = officer(service)
    asked = await desk.say("shortlist 114000")
    assert "2 EOIs match “114000”: which one?" in asked and rp in asked and pp in asked
    said = await desk.press("Shortlist")  # the first listed: the newest
    assert "There is no EOI" not in said


def test_references_are_read_in_every_way_people_type_them() -> None:
    from dialogs.references import normal_ref

    for typed in ("EOI-2627A-003", "eoi-2627a-3", "EOI 2627A 3", "eoi2627a003", "2627A-3", "Eoi-2627A-0003"):
        assert normal_ref(typed) == "EOI-2627A-003", typed
    for typed in ("114000", "Oakfield", "EOI-26A-3", "eoi-2627-3", ""):
        assert normal_ref(typed) is None, typed


# ------------------------------------------------------------------------------ what was meant is stored


async def test_october_for_the_governors_meeting_is_stored_as_a_month_and_shown_as_october_2026(service):
    head = await headteacher(service)
    await _at(head, "governance_date")
    told = await head.say("October")
    assert "Got it: October 2026." in told
    assert (await _answers(service))["governance_date"] == "2026-10"
    await head.say("review")
    assert "Discussed on: October 2026" in head.text


async def test_next_month_for_a_meeting_still_to_come_is_december_2026_and_labelled_planned(service):
    head = await headteacher(service)
    answers = [*RESOURCED_ANSWERS]
    answers[answers.index("Yes, approved")] = "It will be discussed at the next meeting"
    await _at(head, "governance_date", answers)
    assert "Got it: December 2026." in await head.say("next month")
    assert (await _answers(service))["governance_date"] == "2026-12"
    await head.say("review")
    assert "Planned for: December 2026" in head.text and "Discussed on" not in head.text


async def test_a_day_answer_stored_before_months_were_kept_still_reads_and_shows_as_a_day(service):
    head = await headteacher(service)
    await _at(head, "governance_date")
    await head.say("12 November 2026")
    assert (await _answers(service))["governance_date"] == "2026-11-12"
    await head.say("review")
    assert "Discussed on: 12 November 2026" in head.text


def test_months_and_days_are_stored_at_the_precision_said() -> None:
    from dialogs.dates import format_stored_date, read_date_answer, stored_date

    today = date(2026, 11, 30)
    for typed, expects, value in (
        ("October", "past", "2026-10"),
        ("next month", "future", "2026-12"),
        ("September 2027", "month", "2027-09"),
        ("in March 2027", "future", "2027-03"),
        ("next September", "month", "2027-09"),
        ("1 October 2026", "past", "2026-10-01"),
        ("1/9/27", "month", "2027-09-01"),
    ):
        from dialogs.dates import date_to_store

        answer = read_date_answer(typed, today=today, expects=expects)
        assert date_to_store(answer) == value, typed
    assert stored_date("2026-10") == date(2026, 10, 1) and format_stored_date("2026-10") == "October 2026"
    assert format_stored_date("2026-10-01") == "1 October 2026"


# ------------------------------------------------------------------------------ the readers never raise


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_the_choice_and_reference_readers_never_raise_and_refusals_carry_an_example(text: str) -> None:
    from dialogs.answers import AnswerContext, Problem, read_answer
    from dialogs.questions import eoi_questions
    from dialogs.references import command_mid_question, normal_ref, questions_named

    questions = eoi_questions()
    ctx = AnswerContext(today=date(2026, 11, 30))
    for qid in ("provision_type", "primary_need", "other_needs", "accommodation", "governance"):
        read = read_answer(questions.get(qid), text, ctx, {"provision_type": "resourced"})
        if isinstance(read, Problem):
            assert "e.g." in str(read.message) or "The options are" in str(read.message), read
    normal_ref(text)
    questions_named(text, questions.questions)
    provisions = questions.get("provision_type")
    command_mid_question(text, list(provisions.choices), provisions.aliases)
    command_mid_question(f"start {text}", list(provisions.choices), provisions.aliases)
