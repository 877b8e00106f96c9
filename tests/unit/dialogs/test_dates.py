"""How eoi-bot reads and writes the dates headteachers and officers type.

The fixed clock is Saturday 28 November 2026, 10:00 in London (GMT), so "Tuesday" is
1 December and "January" is January 2027. Several tests pin down places where dateparser
on its own gets it wrong, so a dateparser upgrade that changes behaviour shows up here.
"""

from __future__ import annotations

import itertools
import time as timer
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.dates import (
    DATE_EXAMPLES,
    LONDON,
    MEETING_EXAMPLES,
    format_date,
    format_datetime,
    parse_date,
    parse_meeting_time,
    plan_windows,
    term_start,
    warm_up,
)

TODAY = date(2026, 11, 28)  # a Saturday
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=LONDON)


def read_date(text: str) -> date | None:
    return parse_date(text, today=TODAY)


def meeting(text: str) -> datetime | None:
    return parse_meeting_time(text, now=NOW)


def london(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


# --------------------------------------------------------------------------------------
# Headteachers typing a date (the `start` and `governance_date` questions)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["September 2027", "Sept 2027", "sep 2027", "september, 2027", "in September 2027"])
def test_a_headteacher_can_type_a_month_and_year(typed: str) -> None:
    # dateparser alone answers 28 September 2027 (today's day of the month).
    assert read_date(typed) == date(2027, 9, 1)


@pytest.mark.parametrize("typed", ["1/9/27", "01/09/2027", "1.9.2027", "1-9-27", " 1 / 9 / 27 "])
def test_a_headteacher_writes_the_day_before_the_month(typed: str) -> None:
    assert read_date(typed) == date(2027, 9, 1)


@pytest.mark.parametrize(
    "typed", ["1 September 2027", "1st Sept 2027", "2027-09-01", "Sept 1st 2027", "the 1st of September 2027"]
)
def test_a_headteacher_can_spell_the_date_out(typed: str) -> None:
    assert read_date(typed) == date(2027, 9, 1)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("start of the spring term 2028", date(2028, 1, 4)),
        ("spring term 2028", date(2028, 1, 4)),
        ("Spring Term 2028.", date(2028, 1, 4)),
        ("beginning of the summer term 2028", date(2028, 4, 18)),
        ("summer term 2027", date(2027, 4, 12)),
        ("autumn term 2027", date(2027, 9, 1)),
        ("the start of the autumn term 2027", date(2027, 9, 1)),
        ("spring term 2027/28", date(2028, 1, 4)),
        ("autumn term 2027-28", date(2027, 9, 1)),
    ],
)
def test_a_headteacher_can_name_a_school_term(typed: str, expected: date) -> None:
    # dateparser returns None for every one of these.
    assert read_date(typed) == expected


def test_a_term_without_a_year_means_the_next_start_of_that_term() -> None:
    assert read_date("the spring term") == date(2027, 1, 4)
    assert read_date("autumn term") == date(2027, 9, 1)


def test_a_term_with_a_muddled_academic_year_is_not_guessed() -> None:
    assert read_date("spring term 2027/29") is None


def test_a_headteacher_can_say_today_or_tomorrow() -> None:
    assert read_date("today") == TODAY
    assert read_date("Tomorrow") == date(2026, 11, 29)


def test_next_month_means_the_first_of_next_month() -> None:
    # dateparser alone answers 28 December.
    assert read_date("next month") == date(2026, 12, 1)


def test_a_month_on_its_own_means_its_next_first_day_that_has_not_passed() -> None:
    assert read_date("January") == date(2027, 1, 1)
    assert read_date("December") == date(2026, 12, 1)
    assert read_date("November") == date(2027, 11, 1)  # 1 November 2026 is already past
    assert parse_date("January", today=date(2027, 1, 1)) == date(2027, 1, 1)  # today is not past


@pytest.mark.parametrize("typed", ["2027", "in 2027", "next year"])
def test_a_bare_year_is_too_vague(typed: str) -> None:
    # dateparser alone answers 28 November 2027.
    assert read_date(typed) is None


def test_relative_phrases_are_left_to_dateparser() -> None:
    assert read_date("in 2 weeks") == date(2026, 12, 12)
    assert read_date("in a fortnight") == date(2026, 12, 12)


def test_a_day_and_month_without_a_year_is_its_next_occurrence_including_today() -> None:
    # dateparser's "future" preference skips today: "28 Nov" came back as 2027.
    assert read_date("28 Nov") == TODAY
    assert read_date("28/11") == TODAY
    assert read_date("27/11") == date(2027, 11, 27)
    assert read_date("3.12") == date(2026, 12, 3)  # dateparser reads this as the time 03:12


def test_a_day_number_on_its_own_is_the_next_such_day() -> None:
    # dateparser answers 10 November 2026, in the past despite preferring the future.
    assert read_date("the 10th") == date(2026, 12, 10)
    assert read_date("31st") == date(2026, 12, 31)


@pytest.mark.parametrize("typed", ["9/27", "at 10", "32/1/2027", "31/9/2027", "end of the spring term 2028"])
def test_numbers_that_are_not_a_date_are_refused_not_guessed(typed: str) -> None:
    # dateparser reads "9/27" as 9 November 2027 and "at 10" as 10 November 2026.
    assert read_date(typed) is None


def test_a_month_written_with_digits_and_a_full_year_is_its_first_day() -> None:
    assert read_date("09/2027") == date(2027, 9, 1)


@pytest.mark.parametrize("typed", ["", "   ", "?!", "banana", "x" * 10_000, "💥📅"])
def test_unreadable_text_gives_none(typed: str) -> None:
    assert read_date(typed) is None


def test_full_width_digits_are_read_like_ordinary_ones() -> None:
    assert read_date("１/９/２７") == date(2027, 9, 1)


# --------------------------------------------------------------------------------------
# Officers typing a meeting time (`/eoi schedule REF WHEN`)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Tuesday at 2pm", london(2026, 12, 1, 14)),
        ("Tuesday 2pm", london(2026, 12, 1, 14)),
        ("Tuesday 14:00", london(2026, 12, 1, 14)),
        ("tomorrow 10am", london(2026, 11, 29, 10)),
        ("tomorrow at 9.30am", london(2026, 11, 29, 9, 30)),
        ("3/12 10:30", london(2026, 12, 3, 10, 30)),
        ("3/12/2026 10:30", london(2026, 12, 3, 10, 30)),
        ("5 January 2027 at 14:30", london(2027, 1, 5, 14, 30)),
        ("14:30 on 5 Jan", london(2027, 1, 5, 14, 30)),
        ("Monday 9:30am", london(2026, 11, 30, 9, 30)),
        ("today 4pm", london(2026, 11, 28, 16)),
        ("noon tomorrow", london(2026, 11, 29, 12)),
    ],
)
def test_an_officer_can_book_a_meeting_the_way_they_would_say_it(typed: str, expected: datetime) -> None:
    assert meeting(typed) == expected


@pytest.mark.parametrize(
    ("typed", "hour", "minute"),
    [
        ("tomorrow 2pm", 14, 0),
        ("tomorrow 2 pm", 14, 0),
        ("tomorrow 2.30pm", 14, 30),
        ("tomorrow 2:30 p.m.", 14, 30),
        ("tomorrow 14:00", 14, 0),
        ("tomorrow 14.00", 14, 0),
        ("tomorrow 9:30am", 9, 30),
        ("tomorrow at noon", 12, 0),
        ("midday tomorrow", 12, 0),
        ("tomorrow 12pm", 12, 0),
        ("tomorrow 12am", 0, 0),
        ("10:30pm tomorrow", 22, 30),
    ],
)
def test_every_usual_way_of_writing_a_clock_time_is_understood(typed: str, hour: int, minute: int) -> None:
    assert meeting(typed) == london(2026, 11, 29, hour, minute)


def test_dateparser_dropping_the_minutes_is_not_repeated() -> None:
    # dateparser alone reads "tomorrow at 9.30am" as 10:00.
    result = meeting("tomorrow at 9.30am")
    assert result is not None
    assert (result.hour, result.minute) == (9, 30)


def test_a_weekday_always_means_one_strictly_after_today() -> None:
    # Today is Saturday: "Saturday" and "this Saturday" are next week, not today.
    assert meeting("Saturday 2pm") == london(2026, 12, 5, 14)
    assert meeting("this Saturday 2pm") == london(2026, 12, 5, 14)
    assert meeting("next Saturday 2pm") == london(2026, 12, 5, 14)
    assert meeting("Sunday 2pm") == london(2026, 11, 29, 14)
    assert meeting("Tues 2.30pm") == london(2026, 12, 1, 14, 30)


def test_a_day_and_month_that_has_passed_this_year_means_next_year() -> None:
    assert meeting("27/11 10:00") == london(2027, 11, 27, 10)
    assert meeting("28/11 16:00") == london(2026, 11, 28, 16)  # today has not passed


def test_a_dotted_date_and_a_dotted_time_are_told_apart() -> None:
    assert meeting("3.12 14.00") == london(2026, 12, 3, 14)
    assert meeting("14.00 on 3.12") == london(2026, 12, 3, 14)


def test_a_weekday_and_a_date_must_agree() -> None:
    assert meeting("Tuesday 1 December 2026 2pm") == london(2026, 12, 1, 14)
    assert meeting("Wednesday 1 December 2026 2pm") is None


def test_relative_meeting_days_can_come_from_dateparser() -> None:
    assert meeting("in 2 weeks at 3pm") == london(2026, 12, 12, 15)
    assert meeting("the 10th at 2pm") == london(2026, 12, 10, 14)


@pytest.mark.parametrize(
    "typed",
    ["2pm", "tomorrow", "next Tuesday", "5 January 2027", "next week 2pm", "December 2pm"],  # "at 2 tomorrow": 2pm
)
def test_a_meeting_needs_both_a_day_and_a_time(typed: str) -> None:
    assert meeting(typed) is None


@pytest.mark.parametrize("typed", ["tomorrow 13pm", "tomorrow 25:00", "tomorrow 10:75", "2pm or 3pm tomorrow", ""])
def test_impossible_or_ambiguous_times_are_refused(typed: str) -> None:
    assert meeting(typed) is None


def test_meeting_times_are_london_wall_clock_across_the_clock_change() -> None:
    # BST starts on Sunday 28 March 2027: 2pm on 29 March is 13:00 UTC, 2pm on 26 March 14:00 UTC.
    after = meeting("29 March 2027 2pm")
    before = meeting("26 March 2027 2pm")
    assert after is not None and before is not None
    assert after.tzinfo is LONDON
    assert after.astimezone(UTC) == datetime(2027, 3, 29, 13, 0, tzinfo=UTC)
    assert before.astimezone(UTC) == datetime(2027, 3, 26, 14, 0, tzinfo=UTC)
    # ...and back to GMT after the last Sunday of October.
    autumn = parse_meeting_time("2/11/2027 9am", now=NOW)
    assert autumn is not None and autumn.astimezone(UTC).hour == 9


def test_a_time_in_the_spring_forward_gap_becomes_a_real_instant() -> None:
    result = meeting("28 March 2027 1:30am")
    assert result is not None
    assert result.astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert result.utcoffset() == timedelta(hours=1)


def test_now_in_utc_is_read_on_the_london_calendar() -> None:
    # 23:30 UTC on 31 May is already 1 June in London (BST), so "tomorrow" is 2 June.
    late = datetime(2027, 5, 31, 23, 30, tzinfo=UTC)
    assert parse_meeting_time("tomorrow 10am", now=late) == london(2027, 6, 2, 10)


# --------------------------------------------------------------------------------------
# Writing dates back to people
# --------------------------------------------------------------------------------------


def test_dates_are_confirmed_back_in_plain_uk_style() -> None:
    assert format_date(date(2027, 9, 1)) == "1 September 2027"
    assert format_date(date(2028, 1, 14)) == "14 January 2028"


def test_meeting_times_are_confirmed_back_on_the_london_clock() -> None:
    assert format_datetime(london(2026, 12, 1, 14)) == "Tuesday 1 December 2026 at 2:00pm"
    assert format_datetime(datetime(2027, 3, 29, 13, 0, tzinfo=UTC)) == "Monday 29 March 2027 at 2:00pm"
    assert format_datetime(london(2026, 12, 1, 9, 5)) == "Tuesday 1 December 2026 at 9:05am"
    assert format_datetime(london(2026, 12, 1, 0, 0)) == "Tuesday 1 December 2026 at 12:00am"
    assert format_datetime(london(2026, 12, 1, 12, 30)) == "Tuesday 1 December 2026 at 12:30pm"


def test_a_parsed_meeting_reads_back_as_typed() -> None:
    result = meeting("Tuesday at 2pm")
    assert result is not None
    assert format_datetime(result) == "Tuesday 1 December 2026 at 2:00pm"


def test_re_ask_examples_are_themselves_readable() -> None:
    for example in DATE_EXAMPLES.replace(" or ", ", ").split(", "):
        assert read_date(example.strip('"')) is not None, example
    for example in MEETING_EXAMPLES.split(" or "):
        assert meeting(example.strip('"')) is not None, example


# --------------------------------------------------------------------------------------
# Terms and EOI windows
# --------------------------------------------------------------------------------------


def test_term_starts_follow_the_essex_pattern() -> None:
    assert term_start("autumn", 2027) == date(2027, 9, 1)  # a Wednesday
    assert term_start("autumn", 2029) == date(2029, 9, 3)  # 1 September 2029 is a Saturday
    assert term_start("spring", 2028) == date(2028, 1, 4)
    assert term_start("spring", 2025) == date(2025, 1, 6)  # 4 January 2025 is a Saturday
    assert term_start("summer", 2028) == date(2028, 4, 18)  # estimate: the day after Easter Monday (17 April)
    assert term_start("Summer", 2027) == date(2027, 4, 12)  # published: not Easter Monday + 7 (5 April)


def test_an_unknown_term_is_an_error() -> None:
    with pytest.raises(ValueError, match="autumn, spring or summer"):
        term_start("winter", 2027)


def test_the_2027_28_windows() -> None:
    assert plan_windows("2027/28") == [
        ("Autumn Term 1", london(2027, 9, 1, 9), london(2027, 10, 22, 17)),
        ("Spring Term 2", london(2028, 2, 21, 9), london(2028, 4, 13, 17)),
    ]


def test_the_2026_27_windows() -> None:
    # Good Friday 2027 is 26 March, so Spring Term 2 closes on Thursday 25 March (still GMT).
    assert plan_windows("2026/27") == [
        ("Autumn Term 1", london(2026, 9, 1, 9), london(2026, 10, 23, 17)),
        ("Spring Term 2", london(2027, 2, 22, 9), london(2027, 3, 25, 17)),
    ]


def test_window_times_carry_the_right_offset() -> None:
    (_, autumn_opens, autumn_closes), (_, spring_opens, spring_closes) = plan_windows("2027/28")
    assert autumn_opens.utcoffset() == timedelta(hours=1)  # BST in September
    assert spring_opens.utcoffset() == timedelta(0)  # GMT in February
    assert spring_closes.utcoffset() == timedelta(hours=1)  # BST by mid-April
    assert autumn_closes.tzinfo is LONDON


@pytest.mark.parametrize("typed", ["2027-28", "2027/2028", " 2027 / 28 "])
def test_an_academic_year_can_be_written_several_ways(typed: str) -> None:
    assert plan_windows(typed) == plan_windows("2027/28")


@pytest.mark.parametrize("typed", ["2027", "2027/29", "27/28", "twenty27", "", "2027/2029", "2099/00x"])
def test_a_malformed_academic_year_is_explained(typed: str) -> None:
    with pytest.raises(ValueError, match="2027/28"):
        plan_windows(typed)


def test_the_windows_open_before_they_close_for_years_to_come() -> None:
    for first in range(2024, 2060):
        windows = plan_windows(f"{first}/{(first + 1) % 100:02d}")
        autumn, spring = windows
        assert autumn[1] < autumn[2] < spring[1] < spring[2]
        assert autumn[2].weekday() == 4  # closes on a Friday
        assert spring[1].weekday() == 0  # opens on a Monday
        assert 19 <= spring[1].day <= 25 and spring[1].month == 2


# --------------------------------------------------------------------------------------
# Robustness and speed
# --------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_text_makes_the_date_parser_raise(text: str) -> None:
    result = parse_date(text, today=TODAY)
    assert result is None or isinstance(result, date)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.datetimes(timezones=st.just(UTC)))
def test_no_text_makes_the_meeting_parser_raise(text: str, now: datetime) -> None:
    result = parse_meeting_time(text, now=now)
    assert result is None or result.tzinfo is LONDON


# Fragments of real answers, so the property test also explores the parsers' own branches.
_FRAGMENTS = [
    "next",
    "tuesday",
    "at",
    "2pm",
    "14:00",
    "3/12",
    "on",
    "5",
    "jan",
    "2027",
    "noon",
    "tomorrow",
    "9.30am",
    "the",
    "of",
    "spring",
    "term",
    "in",
    "weeks",
    "31/2",
    "99:99",
    "12am",
    "/",
    ".",
    "-",
    "sept",
    "1st",
    "2028/29",
    "midday",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map(" ".join))
def test_plausible_word_salad_never_raises(text: str) -> None:
    parsed = parse_date(text, today=TODAY)
    assert parsed is None or isinstance(parsed, date)
    result = parse_meeting_time(text, now=NOW)
    assert result is None or result.tzinfo is LONDON


def test_a_clock_datetime_passed_as_today_is_read_as_its_date() -> None:
    assert parse_date("tomorrow", today=datetime(2026, 11, 28, 10, 0)) == date(2026, 11, 29)


def test_repeated_parsing_is_fast() -> None:
    warm_up()  # the first dateparser call in a process loads its language data (~80 ms)
    phrases = ["5 January 2027", "in 2 weeks", "1/9/27", "spring term 2028"]
    started = timer.perf_counter()
    for _ in range(50):
        for phrase in phrases:
            read_date(phrase)
            meeting(f"{phrase} 2pm")
    per_call_ms = (timer.perf_counter() - started) * 1000 / (50 * len(phrases) * 2)
    assert per_call_ms < 20


# --------------------------------------------------------------------------------------
# Essex's published term dates (dialogs/term_dates.yaml) and the estimate beyond them
# --------------------------------------------------------------------------------------


def test_the_published_terms_name_their_source_and_no_two_overlap() -> None:
    from dialogs.dates import TERM_DATES_FILE, essex_terms

    assert "essex.gov.uk" in TERM_DATES_FILE.read_text(encoding="utf-8")
    terms = essex_terms()
    assert terms, "no published terms"
    for earlier, later in itertools.pairwise(terms):
        assert earlier.last_day < later.first_day, (earlier, later)
    for term in terms:
        assert term.first_day.weekday() < 5 and term.last_day.weekday() < 5, term


def test_overlapping_terms_in_the_data_are_caught(tmp_path) -> None:
    from dialogs.dates import essex_terms

    bad = tmp_path / "terms.yaml"
    bad.write_text("years:\n  '2030/31':\n    autumn: {first_day: 2030-12-01, last_day: 2030-09-01}\n")
    with pytest.raises(ValueError, match="not a term"):
        essex_terms(bad)


@pytest.mark.parametrize(
    ("year", "expected"),
    # Essex's summer terms as published: 2021, 2022, 2024, 2025 and 2027; the estimate reproduces each.
    [(2021, date(2021, 4, 12)), (2022, date(2022, 4, 19)), (2024, date(2024, 4, 15)), (2025, date(2025, 4, 22)),
     (2027, date(2027, 4, 12))],
)  # fmt: skip
def test_the_summer_term_estimate_follows_the_years_essex_published(year: int, expected: date) -> None:
    from dialogs.dates import estimated_term_start

    assert estimated_term_start("summer", year) == expected
