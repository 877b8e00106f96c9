"""Officers booking and cancelling a school's discussion the way they say it (issue 12, "Meeting times").

The clock is tests/conftest.py's NOW: Monday 30 November 2026, 10:00 in London. So "Tuesday" is 1 December,
"Friday week" 11 December, and Christmas Day is a Friday four weeks on.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.config import load_settings
from bot.service import open_service
from dialogs.actions import Command
from dialogs.dates import LONDON, WorkingHours, read_meeting_time, reasons_to_confirm
from dialogs.replies import Reply
from dialogs.turns import Turn
from storage.models import EOI, AuditEntry, Discussion, Notice
from tests.chat import complete_eoi, headteacher, officer
from tests.conftest import NOW, make_settings

# --------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------


def london(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


OFFICE_HOURS = WorkingHours()  # 8:00am to 6:00pm


def starts(text: str, hours: WorkingHours = OFFICE_HOURS) -> datetime | None:
    reading = read_meeting_time(text, now=NOW, hours=hours)
    assert not reading.problem, reading.problem
    return reading.starts


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Friday week 2pm", london(2026, 12, 11, 14)),
        ("friday week at 2pm", london(2026, 12, 11, 14)),
        ("in two weeks at 2pm", london(2026, 12, 14, 14)),
        ("in 2 weeks 2pm", london(2026, 12, 14, 14)),
        ("a week on Tuesday at 10am", london(2026, 12, 8, 10)),
        ("next week Wednesday 3pm", london(2026, 12, 9, 15)),
        ("Wednesday next week at 3pm", london(2026, 12, 9, 15)),
        ("Tuesday after next 11am", london(2026, 12, 8, 11)),
        ("a fortnight on Friday 9:30am", london(2026, 12, 18, 9, 30)),
        ("a week today 2pm", london(2026, 12, 7, 14)),
        # "Mon" ends in "on" and was once cut to "m" as if "on" were a joining word.
        ("Mon 2pm", london(2026, 12, 7, 14)),
        ("2pm on Mon", london(2026, 12, 7, 14)),
        ("next Mon at 10am", london(2026, 12, 7, 10)),
        ("Mon, 2pm", london(2026, 12, 7, 14)),
    ],
)
def test_the_relative_phrases_officers_use_are_read(typed: str, expected: datetime) -> None:
    assert starts(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected", "said"),
    [
        ("Tuesday 3", london(2026, 12, 1, 15), "“3” as 3:00pm"),
        ("at 2 tomorrow", london(2026, 12, 1, 14), "“2” as 2:00pm"),
        ("Tuesday 3:30", london(2026, 12, 1, 15, 30), "“3:30” as 3:30pm"),
        ("3/12 at 4", london(2026, 12, 3, 16), "“4” as 4:00pm"),
        ("Friday week at 10", london(2026, 12, 11, 10), "“10” as 10:00am"),
    ],
)
def test_an_hour_without_am_or_pm_is_the_working_hour_and_is_said_back(
    typed: str, expected: datetime, said: str
) -> None:
    reading = read_meeting_time(typed, now=NOW)
    assert reading.starts == expected and not reading.problem
    assert said in reading.assumed


def test_a_written_24_hour_time_is_kept_as_typed() -> None:
    assert starts("Tuesday 09:30") == london(2026, 12, 1, 9, 30)
    assert starts("Tuesday 14:00") == london(2026, 12, 1, 14)
    assert read_meeting_time("Tuesday 14:00", now=NOW).assumed == ""


def test_an_hour_outside_working_hours_either_way_is_asked_about_with_examples() -> None:
    reading = read_meeting_time("Tuesday 7", now=NOW)
    assert reading.starts is None
    assert "morning or the evening" in reading.problem
    assert "`Tuesday 1 December 2026 at 7am`" in reading.problem.markup
    assert "morning or the evening" in read_meeting_time("Tuesday 7:30", now=NOW).problem


def test_working_hours_decide_which_hour_a_bare_number_is() -> None:
    early = WorkingHours.parse("07:00-19:00")
    assert starts("Tuesday 7", early) == london(2026, 12, 1, 7)
    assert starts("Tuesday 6:30", early) == london(2026, 12, 1, 18, 30)


def test_3am_sundays_and_christmas_day_are_named_for_confirming() -> None:
    three_am = starts("3/12 3am")
    assert three_am == london(2026, 12, 3, 3)
    assert reasons_to_confirm(three_am, 60) == ["it starts at 3:00am, outside working hours (8:00am–6:00pm)"]
    sunday = starts("Sunday 10am")
    assert sunday is not None and reasons_to_confirm(sunday, 60) == ["it's a Sunday"]
    christmas = starts("25/12 10am")
    assert christmas is not None
    assert reasons_to_confirm(christmas, 60) == ["it's Christmas Day, a bank holiday in England"]
    assert starts("Christmas Day 10am") == christmas
    late = starts("Tuesday 5:30pm")
    assert late is not None and reasons_to_confirm(late, 60) == [
        "it ends at 6:30pm, after working hours (8:00am–6:00pm)"
    ]
    assert reasons_to_confirm(late, 30) == []
    # 28 December 2026 is the day off for Boxing Day, which falls on a Saturday.
    observed = starts("28/12 10am")
    assert observed is not None and "bank holiday" in " ".join(reasons_to_confirm(observed, 60))


@pytest.mark.parametrize(
    ("typed", "example"),
    [
        ("in two weeks", "`Monday 14 December 2026 at 2pm`"),
        ("2pm", "`tomorrow at 2pm`"),
        ("December 3", "`Thursday 3 December 2026 at 2pm`"),
        ("whenever suits", "`Tuesday at 2pm`"),
        ("1/11/2026 10am", "`Tuesday at 2pm`"),
        ("1/11/2029 10am", "`Tuesday at 2pm`"),
        ("", "`Tuesday at 2pm`"),
    ],
)
def test_every_refusal_gives_an_example_that_works(typed: str, example: str) -> None:
    reading = read_meeting_time(typed, now=NOW)
    assert reading.problem and example in reading.problem.markup
    good = read_meeting_time(example.strip("`"), now=NOW)
    assert good.starts is not None and not good.problem


def test_working_hours_come_from_the_environment_and_a_bad_value_is_explained() -> None:
    assert load_settings({}).working_hours == WorkingHours.parse("08:00-18:00")
    assert load_settings({"EOI_WORKING_HOURS": "07:30-17:00"}).working_hours == WorkingHours.parse("07:30-17:00")
    for bad in ("8-6", "18:00-08:00", "25:00-26:00", "nine to five"):
        with pytest.raises(ValueError, match="08:00-18:00"):
            load_settings({"EOI_WORKING_HOURS": bad})


# Fragments of real meeting phrases, so the property test also explores the reader's own branches.
_FRAGMENTS = [
    "next", "this", "week", "weeks", "fortnight", "a", "on", "in", "two", "2", "3", "7", "12", "friday",
    "tuesday", "sunday", "after", "at", "@", "2pm", "3am", "14:00", "3:30", "9.30", "3/12", "25/12",
    "christmas", "day", "boxing", "tomorrow", "today", "noon", "the", "10th", "of", "jan", "2027", "-", ",",
    "half", "quarter", "past", "to", "twenty", "o'clock", "14h", "9h30", "1400hrs", "morning", "afternoon", "am",
    "pm", "eve", "monday", "next monday",
]  # fmt: skip


def _refusal_carries_a_working_example(text: str, now: datetime) -> None:
    reading = read_meeting_time(text, now=now)
    if reading.starts is not None and not reading.problem:
        assert reading.starts.tzinfo is LONDON
        return
    assert reading.problem, text
    examples = [span.text for span in reading.problem if span.style == "code"]  # the examples, never their words
    assert examples, reading.problem
    assert any(
        (good := read_meeting_time(example, now=now)).starts is not None and not good.problem for example in examples
    ), reading.problem


_NOWS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=250), _NOWS)
def test_the_meeting_reader_never_raises_and_every_refusal_carries_an_example(text: str, now: datetime) -> None:
    _refusal_carries_a_working_example(text, now)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=7).map(" ".join), _NOWS)
def test_meeting_word_salad_never_raises_and_every_refusal_carries_an_example(text: str, now: datetime) -> None:
    _refusal_carries_a_working_example(text, now)


# --------------------------------------------------------------------------------------
# Booking through the officer's console
# --------------------------------------------------------------------------------------


async def _shortlisted(service, urn: str = "114000", user: str = "head") -> str:
    head = await headteacher(service, urn=urn, user=user)
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    await officer(service).say(f"shortlist {ref}")
    return ref


async def _discussions(service) -> list[tuple[datetime, str]]:
    async with service.db.session() as session:
        rows = await session.scalars(select(Discussion).order_by(Discussion.id))
        return [(d.starts_at, d.response) for d in rows]


async def _school_notices(service, kind: str) -> list[Notice]:
    async with service.db.session() as session:
        return list(
            await session.scalars(
                select(Notice).where(Notice.audience == "school", Notice.kind == kind).order_by(Notice.id)
            )
        )


async def _status(service, ref: str) -> str:
    async with service.db.session() as session:
        return await session.scalar(select(EOI.status).where(EOI.ref == ref))


async def test_3am_is_not_booked_until_the_officer_confirms_that_exact_time(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    text = await desk.say(f"schedule {ref} 3/12 3am")
    assert "outside working hours" in text and "Nothing is booked until you say yes" in text
    assert await _discussions(service) == [] and await _school_notices(service, "discussion") == []
    assert await _status(service, ref) == "shortlisted"
    yes = desk.find("Yes, book Thursday 3 December at 3:00am")
    assert yes.action == Command(f"schedule {ref} confirm 2026-12-03 03:00 for 60 minutes")
    assert "Scheduled" in await desk.press("Yes, book")
    assert await _discussions(service) == [(london(2026, 12, 3, 3).astimezone(UTC), "invited")]
    assert len(await _school_notices(service, "discussion")) == 1


async def test_an_officer_asked_to_check_a_3am_meeting_types_yes_and_it_is_booked_once(service):
    # The question says "Nothing is booked until you say yes": saying it books it, as the button does (the
    # simulation's officers typed yes and were told "I don't know the command yes").
    ref = await _shortlisted(service)
    desk = officer(service)
    assert "Nothing is booked until you say yes" in await desk.say(f"schedule {ref} 3/12 3am")
    button = desk.find("Yes, book")
    assert "Scheduled" in await desk.say("Yes.")
    assert await _discussions(service) == [(london(2026, 12, 3, 3).astimezone(UTC), "invited")]
    # Asked once: another yes is not a second booking, nor is the button pressed afterwards.
    assert "I don't know the command" in await desk.say("yes")
    again = await service.conversations.handle(Turn(desk.speaker, action=button.action))
    assert "Nothing has changed" in again[0].text
    assert len(await _discussions(service)) == 1 and len(await _school_notices(service, "discussion")) == 1


async def test_no_typed_books_nothing_and_a_command_instead_drops_the_question(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    await desk.say(f"schedule {ref} 3/12 3am")
    assert ref in await desk.say("no")  # what the No button does: the EOI shown again, nothing booked
    assert await _discussions(service) == [] and await _status(service, ref) == "shortlisted"
    await desk.say(f"schedule {ref} 3/12 3am")
    assert ref in await desk.say(f"show {ref}")  # a command instead: run, and the question is dropped
    assert "I don't know the command" in await desk.say("yes")
    assert await _discussions(service) == []


async def test_a_sunday_and_christmas_day_are_checked_and_no_books_nothing(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    text = await desk.say(f"schedule {ref} Sunday 10am at County Hall")
    assert "it's a Sunday" in text
    desk.find("Yes, book Sunday 6 December at 10:00am")
    await desk.press("No")
    text = await desk.say(f"schedule {ref} 25/12 10am")
    assert "Christmas Day, a bank holiday in England" in text
    desk.find("Yes, book Friday 25 December at 10:00am")
    assert await _discussions(service) == [] and await _school_notices(service, "discussion") == []


async def test_a_replayed_yes_button_books_its_own_time_once_and_a_stale_one_books_nothing(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    await desk.say(f"schedule {ref} Sunday 10am at County Hall")
    yes = desk.find("Yes, book")
    await service.conversations.handle(Turn(desk.speaker, action=yes.action))
    replayed = await service.conversations.handle(Turn(desk.speaker, action=yes.action))
    assert "already booked" in replayed[0].text and "hasn't been sent it again" in replayed[0].text
    assert await _discussions(service) == [(london(2026, 12, 6, 10).astimezone(UTC), "invited")]
    assert len(await _school_notices(service, "discussion")) == 1
    # A week later the same button is for a time that has passed: nothing is booked, and it says why.
    service.clock.set(NOW + timedelta(days=7))
    await desk.say(f"schedule {ref} Wednesday 2pm")  # moved meanwhile, to Wednesday 9 December
    stale = await service.conversations.handle(Turn(desk.speaker, action=yes.action))
    assert "can't be booked" in stale[0].text and "Tuesday at 2pm" in stale[0].text
    assert (await _discussions(service))[-1] == (london(2026, 12, 9, 14).astimezone(UTC), "invited")
    # Typing "confirm" with words instead of the exact time is refused with the form that works.
    text = await desk.say(f"schedule {ref} confirm Sunday 10am")
    assert "exact time" in text and f"schedule {ref} confirm 2027-01-05 14:00" in text


async def test_friday_week_and_in_two_weeks_are_booked(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    text = await desk.say(f"schedule {ref} Friday week 2pm")
    assert "Scheduled" in text and "Friday 11 December 2026 at 2:00pm" in text
    text = await desk.say(f"schedule {ref} in two weeks at 11am")
    assert "Rescheduled" in text and "Monday 14 December 2026 at 11:00am" in text
    # Without a time it is refused with the whole command that works; a form's "When" field gets just the time.
    text = await desk.say(f"schedule {ref} in two weeks")
    assert f"`schedule {ref} Monday 14 December 2026 at 2pm`" in text
    assert "`Monday 14 December 2026 at 2pm`" in desk.last.field_errors["when"]


async def test_tuesday_3_is_booked_at_3pm_and_said_back(service):
    ref = await _shortlisted(service)
    text = await officer(service).say(f"schedule {ref} Tuesday 3")
    assert "I read “3” as 3:00pm" in text and "Tuesday 1 December 2026 at 3:00pm" in text
    assert await _discussions(service) == [(london(2026, 12, 1, 15).astimezone(UTC), "invited")]


async def test_the_same_time_again_changes_nothing_and_tells_no_one(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    await desk.say(f"schedule {ref} 3/12 10:30 at County Hall")
    for _ in range(6):  # seven in a row were seen; the school must hear of it once
        text = await desk.say(f"schedule {ref} Thursday 3 December at 10:30am at County Hall")
        assert "already booked" in text and "Nothing has changed" in text
    assert len(await _school_notices(service, "discussion")) == 1
    assert len(await _discussions(service)) == 1
    # A different place (or length) is a change: the school is told.
    assert "Rescheduled" in await desk.say(f"schedule {ref} 3/12 10:30 at Teams")
    assert "Rescheduled" in await desk.say(f"schedule {ref} 3/12 10:30 for 45 minutes at Teams")
    assert len(await _school_notices(service, "discussion")) == 3


async def test_an_officer_cancels_a_discussion_and_the_school_is_told_why(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    await desk.say(f"schedule {ref} 3/12 10:30")
    text = await desk.say(f"cancel discussion {ref} The head is unwell this week")
    assert f"Cancelled: the {ref} discussion on Thursday 3 December 2026 at 10:30am" in text
    assert "has been told" in text and await _status(service, ref) == "shortlisted"
    assert await _discussions(service) == [(london(2026, 12, 3, 10, 30).astimezone(UTC), "cancelled")]
    (told,) = await _school_notices(service, "discussion cancelled")
    body = Reply.from_dict(told.body).text
    assert "cancelled the discussion" in body and "Thursday 3 December 2026 at 10:30am" in body
    assert "The head is unwell this week" in body
    async with service.db.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "cancel-discussion"))
    assert (entry.from_status, entry.to_status, entry.note) == (
        "discussion scheduled",
        "shortlisted",
        "The head is unwell this week",
    )
    # The old invitation can no longer be accepted, and a new discussion can be booked (the same time included).
    head = await headteacher(service, urn="114000", user="head")
    invitation = (await _school_notices(service, "discussion"))[0]
    head.replies = [Reply.from_dict(invitation.body)]
    assert "no discussion waiting" in await head.press("Accept")
    assert "Scheduled" in await desk.say(f"schedule {ref} 3/12 10:30")
    assert len(await _school_notices(service, "discussion")) == 2


async def test_cancelling_without_a_discussion_says_what_can_happen(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    text = await desk.say(f"cancel discussion {ref}")
    assert f"{ref} has no discussion to cancel: it is shortlisted" in text and "schedule a discussion" in text
    assert "cancel discussion EOI-2627A-007" in await desk.say("cancel discussion EOI-2627A-999")
    assert "Cancel discussion" not in [c.label for c in desk.last.choices]


async def test_cancel_discussion_is_an_officer_command_listed_in_help(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    assert "cancel discussion" in await desk.say("help")
    await desk.say(f"schedule {ref} 3/12 10:30")
    await desk.say(f"show {ref}")
    assert desk.find("Cancel discussion").form.command == f"cancel-discussion {ref}"
    head = await headteacher(service, urn="114000", user="head")
    assert "for ECC officers only" in await head.say(f"cancel discussion {ref}", command=True)
    async with service.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Discussion)) == 1


async def test_working_hours_are_passed_from_the_settings_to_the_officer(service, test_db):
    ref = await _shortlisted(service)
    early = await open_service(
        make_settings(test_db.url, working_hours=WorkingHours.parse("07:00-20:00")), clock=service.clock,
        db=service.db,
    )  # fmt: skip
    desk = officer(early)
    text = await desk.say(f"schedule {ref} Tuesday 7pm for 30 minutes")
    assert "Scheduled" in text and "Tuesday 1 December 2026 at 7:00pm" in text


async def test_a_place_too_long_to_keep_is_refused_before_anything_is_booked(service):
    ref = await _shortlisted(service)
    desk = officer(service)
    text = await desk.say(f"schedule {ref} Tuesday 2pm at {'County Hall ' * 30}")
    assert "under 300 characters" in text and desk.last.field_errors["place"]
    assert await _discussions(service) == []
