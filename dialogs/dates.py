"""Reading and writing the dates people type into eoi-bot.

Headteachers type opening dates ("September 2027", "1/9/27", "start of the spring term
2028"); officers type meeting times ("next Tuesday at 2pm", "3/12 10:30"). We lean on
``dateparser`` for the long tail of English date phrases, but it misreads several things
that matter here, so a thin layer of our own runs first and checks what comes back:

* month + year ("September 2027") comes back as *today's day of month* in September 2027,
  not the 1st; a bare month ("January") likewise, and "next month" is a month from today;
* a bare year ("2027") or "next year" comes back as a full date (too vague for us);
* "tomorrow at 9.30am" silently drops the minutes (10:00); "3.12" is read as the time 03:12;
* "28/11" typed on 28 November jumps a whole year ahead, although today has not passed;
* "9/27" becomes 9 November 2027 (the month is borrowed from today);
* "at 10" becomes the 10th of the current month, and "the 10th" typed on the 28th is the
  10th of *this* month, in the past despite PREFER_DATES_FROM="future";
* "this Saturday" typed on a Saturday is today (officers mean next week);
* school-term phrases are unknown to it.

Everything here is channel-neutral and pure: callers pass ``today``/``now`` in, so tests
and the ``EOI_NOW`` demo clock behave exactly like production.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from dateparser.date import DateDataParser
from dateutil.easter import easter

from dialogs.rich import Text, code, md, rich
from storage.vocabulary import academic_year

__all__ = [
    "DATE_EXAMPLES",
    "DEFAULT_WORKING_HOURS",
    "EXAMPLE_DATE",
    "EXAMPLE_MEETING",
    "LONDON",
    "MEETING_EXAMPLES",
    "TIME_AT_START",
    "DateAnswer",
    "MeetingReading",
    "WorkingHours",
    "bank_holiday",
    "format_clock",
    "format_date",
    "format_datetime",
    "format_meeting_day",
    "format_stored_date",
    "month_name",
    "names_a_day_without_year",
    "parse_date",
    "parse_meeting_time",
    "plan_windows",
    "read_date_answer",
    "read_due_date",
    "read_meeting_time",
    "reasons_to_confirm",
    "stored_date",
    "term_dates",
    "term_start",
    "warm_up",
    "working_day",
]

LONDON = ZoneInfo("Europe/London")

# Shown in re-ask messages, so a refused answer always comes with what a good one looks like.
EXAMPLE_DATE = "September 2027"
EXAMPLE_MEETING = "Tuesday at 2pm"
DATE_EXAMPLES = '"September 2027", "1/9/27" or "start of the spring term 2028"'
MEETING_EXAMPLES = '"Tuesday at 2pm" or "3/12 10:30"'

# Nobody types a 200-character date; refusing early keeps junk (or abuse) cheap.
_MAX_INPUT = 200

_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Our own month/weekday tables rather than strftime("%B"), which follows the process locale.
_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
    "apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
    "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2, "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip

# Longest alternatives first so "september" is not cut short at "sep".
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY_RE = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))

# re.ASCII: after NFKC normalisation we only want ASCII digits; \d would otherwise accept
# digits from other scripts that the rest of the pipeline does not expect.
_A = re.ASCII

_BARE_YEAR = re.compile(r"(?:in\s+)?\d{4}", _A)
_MONTH_ONLY = re.compile(rf"(?:in\s+)?({_MONTH_RE})\.?", _A)
_MONTH_YEAR = re.compile(rf"(?:in\s+)?({_MONTH_RE})\.?\s*,?\s*(?:of\s+)?(\d{{4}}|'\d{{2}})", _A)
_TERM = re.compile(
    r"(?:(?:at|from|for|in)\s+)?(?:the\s+)?"
    r"(?:(?:start|beginning|first\s+day)\s+of\s+(?:the\s+)?)?"
    r"(autumn|spring|summer)(?:\s+term)?"
    r"(?:\s+(?:of\s+|in\s+)?(\d{4})(?:\s*[/-]\s*(\d{4}|\d{2}))?)?",
    _A,
)
# Day/month[/year] written with digits. Our own because dateparser reads "3.12" as a time
# and "9/27" as 9 November; with digits UK order is unambiguous enough to do by hand.
_NUMERIC_DATE = re.compile(r"(\d{1,2})\s*([./-])\s*(\d{1,2})(?:\s*\2\s*(\d{4}|\d{2}))?", _A)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", _A)
_NUMERIC_MONTH_YEAR = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{4})", _A)
_LEADING_FILLER = re.compile(r"^(?:(?:on|from|by|at|for)\s+)+", _A)
# "the 10th": dateparser returns this month's 10th even when it has passed.
_ORDINAL_DAY = re.compile(r"(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)", _A)
_YEAR_IN_TEXT = re.compile(r"(?<!\d)(\d{4})(?!\d)", _A)
_MONTH_IN_TEXT = re.compile(rf"\b({_MONTH_RE})\b", _A)
# Words that make a phrase relative ("in 53 weeks"), where the no-year fix must not apply.
_RELATIVE_WORD = re.compile(r"\b(?:in|ago|next|last|after|before|week|weeks|days?)\b", _A)

_RELATIVE_DAYS = {
    "today": 0,
    "tomorrow": 1,
    "tmrw": 1,
    "tmw": 1,
    "the day after tomorrow": 2,
    "day after tomorrow": 2,
}

# Clock times, strongest first. Each candidate is tried in turn: the first whose removal
# leaves a readable date wins, so "3.12 14.00" and "14.00 on 3.12" both work.
_NOT_BEFORE = r"(?<![\d:./])"
_TIME_WORDS = re.compile(r"\b(noon|midday|midnight)\b", _A)
_TIME_12H = re.compile(_NOT_BEFORE + r"(\d{1,2})(?:\s*[:.]\s*(\d{2}))?\s*(am|pm)\b", _A)
# 24-hour forms must not be the front half of "10:30pm" (that is _TIME_12H's job).
_NOT_AFTER = r"(?:\s*(?:hrs|hours|h)\b)?(?![\d:./])(?!\s*[ap]m\b)"
_TIME_COLON = re.compile(_NOT_BEFORE + r"(\d{1,2}):(\d{2})" + _NOT_AFTER, _A)
_TIME_DOT = re.compile(_NOT_BEFORE + r"(\d{1,2})\.(\d{2})" + _NOT_AFTER, _A)
# "14h", "9h30", "1400hrs", "14h00": 24-hour times as written in much of Europe and the services.
_TIME_H = re.compile(_NOT_BEFORE + r"(?:(\d{1,2})h(\d{2})?|(\d{2})(\d{2})\s*hrs)\b", _A)
# Times as they are said: "half past 3", "quarter past 3", "quarter to 4", "20 past 10", "half 2" (2:30, as
# said in Britain), each with an optional am/pm.
_HOUR_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_HOUR_RE = r"(\d{1,2}|" + "|".join(_HOUR_WORDS) + ")"
_TIME_SAID = re.compile(
    _NOT_BEFORE
    + r"\b(?:(half|quarter|\d{1,2}|five|ten|twenty|twenty-five)\s+(past|after|to)\s+|(half)\s+)"
    + _HOUR_RE
    + r"(?:\s+o'?clock)?(?:\s*(am|pm)\b)?(?![\d:./])",
    _A,
)
# Words that begin a clock time ("at half 10", "at quarter to 3", "at 14h"), so "at" before them is not a place.
TIME_AT_START = re.compile(
    r"^(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|h\d{0,2}|hrs)?|\d{4}\s*hrs|noon|midday|half|quarter|"
    + r"(?:five|ten|twenty|twenty-five|\d{1,2})\s+(?:past|to|after)|"
    + "|".join(_HOUR_WORDS)
    + r")\b",
    re.IGNORECASE,
)
_MINUTES_SAID = {"half": 30, "quarter": 15, "five": 5, "ten": 10, "twenty": 20, "twenty-five": 25}
_OCLOCK = re.compile(_NOT_BEFORE + r"\b" + _HOUR_RE + r"\s*o'?clock\b", _A)
# Parts of a day a school offers ("Thursday afternoon"): a range for the officer to pick a time in.
PARTS_OF_DAY = {"morning": (time(9), time(12)), "afternoon": (time(13), time(17))}
_PART_OF_DAY = re.compile(r"\b(?:in\s+the\s+)?(morning|afternoon|am|pm)\b", _A)

_WEEKDAY_PHRASE = re.compile(rf"(?:(?:on|this|next|coming|the|this\s+coming)\s+)*({_WEEKDAY_RE})\.?", _A)
_WEEKDAY_WITH_DATE = re.compile(rf"(?:on\s+)?({_WEEKDAY_RE})\.?\s*,?\s+(?:the\s+)?(.+)", _A)
# Joining words left behind once the clock time is cut out: "tomorrow at", "on 5 jan".
# Whole words only: "on" ends "Mon", and "for" starts "fortnight".
_EDGE_FILLER = re.compile(r"^(?:(?:(?:at|on|from|for)\b|[@,-])\s*)+|(?:\s*(?:\b(?:at|on|from|for)|[@,-]))+$", _A)


# --------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------


def format_date(d: date) -> str:
    """'1 September 2027': day without a leading zero, the way UK letters write it."""
    return f"{d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"


def format_datetime(dt: datetime) -> str:
    """'Tuesday 1 December 2026 at 2:00pm', always on the London wall clock.

    Naive datetimes are taken to be London time already (the only clock this service
    uses), so formatting never shifts them by the host's own timezone.
    """
    local = dt.replace(tzinfo=LONDON) if dt.tzinfo is None else dt.astimezone(LONDON)
    hour12 = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    weekday = _WEEKDAY_NAMES[local.weekday()]
    return f"{weekday} {format_date(local.date())} at {hour12}:{local.minute:02d}{suffix}"


_YEARLESS_NAMED = re.compile(r"\b(?:christmas|boxing|new\s+year'?s?|easter|halloween)\b", _A)


def names_a_day_without_year(text: str) -> bool:
    """ "1 March", "26/3", "Christmas Eve at noon": a calendar day whose year the reader had to choose (not
    "tomorrow" or "next Friday", which are already where they are meant)."""
    s = _normalise(text)
    if _HAS_YEAR.search(s):
        return False
    return bool(_MONTH_IN_TEXT.search(s) or _NUMERIC_DATE.search(s) or _YEARLESS_NAMED.search(s))


def format_clock(dt: datetime) -> str:
    """'5:00pm': the time of day of `dt` on the London clock."""
    return _clock_words(_london(dt).time())


# --------------------------------------------------------------------------------------
# School terms and EOI windows
# --------------------------------------------------------------------------------------


def _first_weekday_on_or_after(d: date) -> date:
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


TERM_DATES_FILE = Path(__file__).with_name("term_dates.yaml")
TERMS = ("autumn", "spring", "summer")


@dataclass(frozen=True)
class Term:
    """One Essex school term as ECC published it (dialogs/term_dates.yaml)."""

    name: str  # autumn | spring | summer
    academic_year: str  # "2026/27"
    first_day: date
    last_day: date


@cache
def essex_terms(path: Path = TERM_DATES_FILE) -> tuple[Term, ...]:
    """The published terms, in date order."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    terms = [
        Term(name, str(year), days["first_day"], days["last_day"])
        for year, by_term in (raw.get("years") or {}).items()
        for name, days in by_term.items()
    ]
    for term in terms:
        if term.name not in TERMS or term.first_day > term.last_day:
            raise ValueError(f"{path.name}: {term.academic_year} {term.name} term is not a term from first to last day")
    return tuple(sorted(terms, key=lambda t: t.first_day))


def academic_year_of_term(term: str, calendar_year: int) -> str:
    """The academic year a term of `calendar_year` belongs to: autumn begins it, spring and summer follow."""
    return academic_year(calendar_year if term == "autumn" else calendar_year - 1)


def published_term(term: str, calendar_year: int) -> Term | None:
    """The term as Essex published it, or None for a year not in term_dates.yaml."""
    year = academic_year_of_term(term, calendar_year)
    return next((t for t in essex_terms() if t.name == term and t.academic_year == year), None)


def estimated_term_start(term: str, calendar_year: int) -> date:
    """The first day of a term Essex has not published yet: the usual pattern, an estimate.

    * autumn: the first weekday on or after 1 September;
    * spring: the first weekday on or after 4 January;
    * summer: after the two-week Easter break: the day after Easter Monday when that is 10 April or later,
      otherwise the first Monday on or after 10 April (this reproduces 2021, 2022, 2024, 2025 and 2027).
    """
    if term == "autumn":
        return _first_weekday_on_or_after(date(calendar_year, 9, 1))
    if term == "spring":
        return _first_weekday_on_or_after(date(calendar_year, 1, 4))
    easter_monday = easter(calendar_year) + timedelta(days=1)
    if easter_monday >= date(calendar_year, 4, 10):
        return easter_monday + timedelta(days=1)
    april_10 = date(calendar_year, 4, 10)
    return april_10 + timedelta(days=(7 - april_10.weekday()) % 7)


def term_start(term: str, calendar_year: int) -> date:
    """First day of an Essex school term: as published (term_dates.yaml), else estimated.

    ``calendar_year`` is the year the term starts in, so the spring term of 2027/28 is
    ``term_start("spring", 2028)``. Raises ``ValueError`` for any other term name.
    """
    return term_start_and_estimate(term, calendar_year)[0]


def term_start_and_estimate(term: str, calendar_year: int) -> tuple[date, bool]:
    """(first day, whether it is an estimate because Essex has not published that year yet)."""
    name = term.strip().lower()
    if name not in TERMS:
        raise ValueError(f"Unknown term {term!r}: expected autumn, spring or summer.")
    published = published_term(name, calendar_year)
    if published is not None:
        return published.first_day, False
    return estimated_term_start(name, calendar_year), True


def working_day(day: date) -> bool:
    """A weekday that isn't a bank holiday in England: when windows open and close without asking."""
    return day.weekday() < 5 and bank_holiday(day) is None


def term_dates(term: str, calendar_year: int) -> tuple[date, date]:
    """(first day, last day) of an Essex term starting in ``calendar_year``: as published, else estimated (the
    last working Friday, or Thursday before Good Friday, a fortnight before the next term starts; this
    reproduces the published 2026/27 dates and the spring term of 2025)."""
    published = published_term(term, calendar_year)
    if published is not None:
        return published.first_day, published.last_day
    following = {"autumn": ("spring", calendar_year + 1), "spring": ("summer", calendar_year)}.get(term)
    if following is None:
        raise ValueError(f"No estimate of the end of the {term} term.")
    last = term_start(*following) - timedelta(days=15)
    last -= timedelta(days=(last.weekday() - 4) % 7)
    while not working_day(last):
        last -= timedelta(days=1)
    return term_start(term, calendar_year), last


_ACADEMIC_YEAR = re.compile(r"(\d{4})\s*[/-]\s*(\d{4}|\d{2})", _A)


def _academic_start_year(academic_year: str) -> int:
    match = _ACADEMIC_YEAR.fullmatch(academic_year.strip())
    if match:
        first = int(match.group(1))
        second = match.group(2)
        expected = f"{(first + 1) % 100:02d}" if len(second) == 2 else str(first + 1)
        if second == expected:
            return first
    raise ValueError(
        f"Academic year {academic_year!r} not understood: write it like 2027/28 "
        "(two consecutive years; 2027-28 and 2027/2028 also work)."
    )


def _at(d: date, hour: int) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=LONDON)


def plan_windows(academic_year: str) -> list[tuple[str, datetime, datetime]]:
    """The two EOI windows of an academic year, as London-aware (label, opens, closes).

    * Autumn Term 1 opens 09:00 on the first day of the autumn term and closes 17:00 on
      the Friday before October half-term (the week starting on the last Monday of
      October).
    * Spring Term 2 opens 09:00 on the Monday after February half-term (the week starting
      on the Monday between 12 and 18 February) and closes 17:00 on the last weekday
      before Good Friday.

    ``academic_year`` is "2027/28" (or "2027-28", "2027/2028"); anything else raises
    ``ValueError`` with a message that can be shown to an officer.
    """
    first = _academic_start_year(academic_year)
    second = first + 1

    october_31 = date(first, 10, 31)
    half_term_monday = october_31 - timedelta(days=october_31.weekday())
    autumn_closes = half_term_monday - timedelta(days=3)

    february_12 = date(second, 2, 12)
    feb_half_term_monday = february_12 + timedelta(days=(7 - february_12.weekday()) % 7)
    spring_opens = feb_half_term_monday + timedelta(days=7)
    good_friday = easter(second) - timedelta(days=2)
    spring_closes = good_friday - timedelta(days=1)

    return [
        ("Autumn Term 1", _at(term_start("autumn", first), 9), _at(autumn_closes, 17)),
        ("Spring Term 2", _at(spring_opens, 9), _at(spring_closes, 17)),
    ]


# --------------------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    """Lower-case, NFKC (full-width digits, odd spaces), one space, no trailing noise."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = re.sub(r"[\u2010-\u2015]", "-", s)  # typographic dashes from Word/Outlook pastes
    s = re.sub(r"\b([ap])\.\s*m\b\.?", r"\1m", s)  # "p.m." -> "pm" before "." is stripped
    s = re.sub(r"\s+", " ", s)
    return s.strip(" \t.,;:!?\"'()[]")


@lru_cache(maxsize=16)
def _parser(prefer: str, today: date) -> DateDataParser:
    """One configured parser per (preference, day), reused across calls.

    Constructing one is cheap, but the settings object is merged and validated each time;
    caching by day (the only base we ever need: times are parsed by us) makes repeated
    calls within a day pure parsing work.
    """
    return DateDataParser(
        languages=["en"],
        settings={
            "DATE_ORDER": "DMY",
            "PREFER_DATES_FROM": prefer,
            "RELATIVE_BASE": datetime.combine(today, time()),
        },
    )


def warm_up() -> None:
    """Pay dateparser's one-off start-up cost (~80 ms of language data) now.

    The first dateparser-backed parse in a process is two orders of magnitude slower than
    the rest (~0.5 ms). Calling this at service start keeps that out of a user's turn.
    """
    _dateparser("1 January 2000", date(2000, 1, 1))


def _dateparser(text: str, today: date) -> tuple[date, str] | None:
    """dateparser's (date, period) for ``text``, or None; never raises."""
    try:
        data = _parser("future", today).get_date_data(text)
    except Exception:  # dateparser has raised on odd inputs before; junk must not crash a turn
        return None
    if data is None or data.date_obj is None:
        return None
    return data.date_obj.date(), str(data.period or "day")


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_occurrence(month: int, day: int, today: date) -> date | None:
    """The first day/month on or after today (29/2 waits for a leap year)."""
    for year in range(today.year, today.year + 9):
        candidate = _valid_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _next_day_of_month(day: int, today: date) -> date | None:
    """The next '31st' (or any day number) on or after today, skipping short months."""
    year, month = today.year, today.month
    for _ in range(13):
        candidate = _valid_date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _numeric_date(s: str, today: date) -> date | None:
    """'1/9/27', '01/09/2027', '3.12', '3-12': always day first, as in the UK."""
    match = _NUMERIC_DATE.fullmatch(s)
    if not match:
        return None
    day, month = int(match.group(1)), int(match.group(3))
    year_text = match.group(4)
    if year_text is None:
        return _next_occurrence(month, day, today) if 1 <= month <= 12 else None
    year = int(year_text)
    if len(year_text) == 2:
        year += 2000  # nobody is planning provision for the 1900s
    return _valid_date(year, month, day)


def _next_term_start(term: str, today: date) -> date:
    for year in (today.year, today.year + 1):
        start = term_start(term, year)
        if start >= today:
            return start
    return term_start(term, today.year + 2)  # unreachable: a term starts every year


def _term_date(s: str, today: date) -> date | None:
    """'start of the spring term 2028', 'autumn term 2027', 'summer term 2027/28'."""
    match = _TERM.fullmatch(s)
    if not match:
        return None
    term, year_text, second_text = match.groups()
    if year_text is None:
        return _next_term_start(term, today)
    year = int(year_text)
    if second_text is not None:
        # An academic year: autumn is in its first calendar year, spring and summer in
        # its second. Refuse "2027/29" rather than guess which half was meant.
        try:
            year = _academic_start_year(f"{year_text}/{second_text}")
        except ValueError:
            return None
        if term != "autumn":
            year += 1
    return term_start(term, year)


def _month_year(s: str, today: date) -> date | None:  # today unused: same shape as its siblings
    match = _MONTH_YEAR.fullmatch(s)
    if not match:
        return None
    month = _MONTHS[match.group(1)]
    year_text = match.group(2)
    year = 2000 + int(year_text[1:]) if year_text.startswith("'") else int(year_text)
    return _valid_date(year, month, 1)


def _month_only(s: str, today: date) -> date | None:
    match = _MONTH_ONLY.fullmatch(s)
    if not match:
        return None
    month = _MONTHS[match.group(1)]
    return _next_occurrence(month, 1, today)


def _checked_dateparser(s: str, today: date, *, allow_month: bool, allow_week: bool) -> date | None:
    """dateparser's answer, accepted only if it agrees with what was typed."""
    parsed = _dateparser(s, today)
    if parsed is None:
        return None
    result, period = parsed
    if period == "month" and allow_month:
        result = result.replace(day=1)  # dateparser borrows today's day; a month means the 1st
    elif period == "week" and allow_week:
        pass
    elif period != "day":
        return None  # "2027", "next year", "next week" when a day is needed: too vague

    # A four-digit year that was typed must be the year we return.
    years = {int(y) for y in _YEAR_IN_TEXT.findall(s)}
    if years and result.year not in years:
        return None
    # A month that was named must be the month we return ("mid september" etc. misreads).
    months = {_MONTHS[m] for m in _MONTH_IN_TEXT.findall(s)}
    if len(months) == 1 and not _RELATIVE_WORD.search(s) and result.month not in months:
        return None
    # dateparser's "future" skips today itself: "28 Nov" typed on 28 November comes back as
    # next year. A named date with no year means its next occurrence, today included.
    if months and not years and not _RELATIVE_WORD.search(s) and result.year > today.year:
        earlier = _valid_date(result.year - 1, result.month, result.day)
        if earlier is not None and earlier >= today:
            result = earlier
    return result


def _day_from_text(s: str, today: date, *, allow_month: bool, allow_week: bool) -> date | None:
    """A calendar day from a phrase with no clock time left in it."""
    if s in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[s])
    if _NUMERIC_DATE.fullmatch(s):
        return _numeric_date(s, today)
    match = _ORDINAL_DAY.fullmatch(s)
    if match:
        return _next_day_of_month(int(match.group(1)), today)
    match = _ISO_DATE.fullmatch(s)
    if match:
        return _valid_date(*(int(part) for part in match.groups()))
    match = _NUMERIC_MONTH_YEAR.fullmatch(s)
    if match:
        # "09/2027" names a month, not a day: the 1st where a month will do.
        month = _valid_date(int(match.group(2)), int(match.group(1)), 1)
        return month if allow_month else None
    if re.fullmatch(r"[\d\s./-]*", s, _A):
        # Only digits left but not a day/month ("9/27", "at 10" leftovers): dateparser
        # invents the missing parts from today, so refuse instead of guessing.
        return None
    return _checked_dateparser(s, today, allow_month=allow_month, allow_week=allow_week)


# --------------------------------------------------------------------------------------
# Public parsers
# --------------------------------------------------------------------------------------


def parse_date(text: str, *, today: date) -> date | None:
    """A calendar date typed by a headteacher, or None if it cannot be read.

    Reads "September 2027" (the 1st of the month), "1/9/27" (day first), "1st Sept 2027",
    "2027-09-01", "spring term 2028" / "start of the autumn term 2027" (see
    ``term_start``), "today", "tomorrow", "next month" (the 1st), "January" (the next
    1 January not in the past) and dateparser's relative phrases such as "in 2 weeks".
    A bare year is refused as too vague. Past dates are returned: the caller decides
    whether the past is allowed for its question. Never raises.
    """
    try:
        return _parse_date(text, today)
    except Exception:  # a date question must re-ask, never crash the conversation
        return None


def _parse_date(text: str, today: date) -> date | None:
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        return None
    if isinstance(today, datetime):
        today = today.date()  # comparing a datetime with a date raises; a clock's now() is easy to pass
    s = _normalise(text)
    if not s or _BARE_YEAR.fullmatch(s):
        return None
    # "by 1/9/27", "from September 2027"; also stops dateparser reading "at 10" as the 10th.
    s = _LEADING_FILLER.sub("", s) or s
    for reader in (_term_date, _month_year, _month_only):
        result = reader(s, today)
        if result is not None:
            return result
    return _day_from_text(s, today, allow_month=True, allow_week=True)


# --------------------------------------------------------------------------------------
# Date answers: what the question expects decides the reading
# --------------------------------------------------------------------------------------

# What a date question expects (its `dates: expects` in dialogs/questions/eoi.yaml):
#   month           a month to start something in ("Sept 27" is September 2027)
#   future / past   a day still to come / a day that has happened ("October" is the next / the last one)
#   past_or_future  either; a bare month or weekday is then ambiguous and echoed back
EXPECTS = ("month", "future", "past", "past_or_future")

_SHORT_MONTH_YEAR = re.compile(rf"({_MONTH_RE})\.?\s*[-/ ]\s*'?(\d{{2}})", _A)  # "sept 27", "sep-27"
_DIGIT_MONTH_YEAR = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{2})", _A)  # "9/27", "09-27"
_NEXT_LAST_MONTH = re.compile(rf"(next|last|this|coming|this\s+coming)\s+({_MONTH_RE})\.?", _A)
_WEEKDAY_FIRST = re.compile(
    rf"(?:on\s+)?(?:(last|next|this|coming)\s+)?({_WEEKDAY_RE})\b\.?(?:\s*,?\s+(?:the\s+)?(.+))?", _A
)
_HAS_YEAR = re.compile(r"(?<!\d)(?:\d{4}|'\d{2})(?!\d)|\d{1,2}\s*([./-])\s*\d{1,2}\s*\1\s*\d{2,4}", _A)


@dataclass(frozen=True)
class DateAnswer:
    """A date answer as read: the day (None when refused), and what to say about it.

    `doubt` is the reading in words when the text could mean something else ("September 2027" for
    "Sept 27"): the answer is echoed back for a yes/no before it is stored. `note` is said with the
    answer once stored (a term date that is an estimate). `problem` is why it was refused, when there
    is more to say than "couldn't read it"; it always carries an example."""

    day: date | None
    doubt: str = ""
    note: str = ""
    problem: str = ""
    month: bool = False  # a month was said ("October", "next month"), not a day: `day` is its 1st


def month_name(d: date) -> str:
    """'September 2027'."""
    return f"{_MONTH_NAMES[d.month - 1]} {d.year}"


# A date answer is stored as ISO 8601 text at the precision it was given: "2026-10-14" for a day, "2026-10" for
# a month (answers stored before months were kept are days, and still read as such).
_STORED_MONTH = re.compile(r"(\d{4})-(\d{2})", _A)


def stored_date(value: str) -> date:
    """The day a stored date answer stands for (a month's 1st)."""
    month = _STORED_MONTH.fullmatch(value)
    return date(int(month.group(1)), int(month.group(2)), 1) if month else date.fromisoformat(value)


def is_month(value: str) -> bool:
    return _STORED_MONTH.fullmatch(value) is not None


def date_to_store(answer: DateAnswer) -> str:
    assert answer.day is not None
    return f"{answer.day:%Y-%m}" if answer.month else answer.day.isoformat()


def format_stored_date(value: str) -> str:
    """'October 2026' for a month, '14 October 2026' for a day."""
    return month_name(stored_date(value)) if is_month(value) else format_date(stored_date(value))


def last_day(value: str) -> date:
    """The last day a stored date answer covers: the month's last day, or the day itself."""
    first = stored_date(value)
    if not is_month(value):
        return first
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


_MONTH_SAID = re.compile(
    rf"(?:(?:in\s+)?(?:{_MONTH_RE})\.?\s*,?\s*(?:of\s+)?(?:\d{{4}}|'\d{{2}})?|(?:next|last|this)\s+month|\d{{1,2}}\s*[/.-]\s*\d{{4}})",
    _A,
)


def read_date_answer(text: str, *, today: date, expects: str = "") -> DateAnswer:
    """A headteacher's answer to a date question that expects `expects` (see EXPECTS; "" reads as
    parse_date does). UK day-month order, on the London calendar of `today`. Never raises."""
    try:
        answer = _read_date_answer(text, today, expects)
        if answer.day is not None and not answer.month and answer.day.day == 1:
            said = _LEADING_FILLER.sub("", _normalise(text)) or _normalise(text)
            if _MONTH_SAID.fullmatch(said):  # "September 2027", "next month": a month, kept as one
                return DateAnswer(answer.day, answer.doubt, answer.note, answer.problem, month=True)
        return answer
    except Exception:  # a date question must re-ask, never crash the conversation
        return DateAnswer(None)


def _month_start_by_expectation(month: int, today: date, expects: str) -> tuple[date, str]:
    """The 1st of `month` that the question means, and a doubt when it could be either side of today."""
    this_year = date(today.year, month, 1)
    past = this_year if this_year <= today else date(today.year - 1, month, 1)
    future = this_year if this_year > today else date(today.year + 1, month, 1)
    if expects == "past":
        return past, ""
    if expects == "past_or_future":
        nearer = past if (today - past) <= (future - today) else future
        return nearer, month_name(nearer)
    return future, ""


def _yearless_by_expectation(month: int, day: int, today: date, expects: str) -> date | None:
    """A day and month without a year: the most recent (past), the next (future, today included), or the
    nearer of the two."""
    future = _next_occurrence(month, day, today)
    past = None
    for year in range(today.year, today.year - 9, -1):
        candidate = _valid_date(year, month, day)
        if candidate is not None and candidate <= today:
            past = candidate
            break
    if expects == "past":
        return past
    if expects == "past_or_future" and past is not None and future is not None:
        return past if (today - past) <= (future - today) else future
    return future


def _read_date_answer(text: str, today: date, expects: str) -> DateAnswer:
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        return DateAnswer(None)
    if isinstance(today, datetime):
        today = today.date()
    s = _LEADING_FILLER.sub("", _normalise(text)) or _normalise(text)
    if not s:
        return DateAnswer(None)

    term = _TERM.fullmatch(s)
    if term:
        return _term_answer(term, today, expects)

    match = _NEXT_LAST_MONTH.fullmatch(s)
    if match:  # "next September": the first September after this month; "last October" the one before
        month = _MONTHS[match.group(2)]
        if match.group(1) == "last":
            year = today.year if month < today.month else today.year - 1
        elif match.group(1) == "this":
            year = today.year
        else:
            year = today.year if month > today.month else today.year + 1
        return DateAnswer(date(year, month, 1), month=True)

    match = _SHORT_MONTH_YEAR.fullmatch(s)
    if match:  # "Sept 27": September 2027, or 27 September?
        month, number = _MONTHS[match.group(1)], int(match.group(2))
        as_month = date(2000 + number, month, 1)
        as_day = _yearless_by_expectation(month, number, today, expects or "future") if number <= 31 else None
        if expects == "month" or as_day is None:
            return DateAnswer(as_month, doubt=month_name(as_month) if as_day is not None else "", month=True)
        return DateAnswer(as_day, doubt=format_date(as_day))

    if expects == "month":
        match = _DIGIT_MONTH_YEAR.fullmatch(s)
        if match and 1 <= int(match.group(1)) <= 12 and int(match.group(2)) > 12:
            as_month = date(2000 + int(match.group(2)), int(match.group(1)), 1)
            return DateAnswer(as_month, doubt=month_name(as_month), month=True)  # "9/27": September 2027

    match = _MONTH_ONLY.fullmatch(s)
    if match and expects:
        day, doubt = _month_start_by_expectation(_MONTHS[match.group(1)], today, expects)
        return DateAnswer(day, doubt=doubt, month=True)

    match = _WEEKDAY_FIRST.fullmatch(s)
    if match and expects:
        return _weekday_answer(match, today, expects)

    match = _ORDINAL_DAY.fullmatch(s)
    if match and expects == "past":  # "the 10th": the most recent 10th
        number, year, month = int(match.group(1)), today.year, today.month
        for _ in range(13):
            candidate = _valid_date(year, month, number)
            if candidate is not None and candidate <= today:
                return DateAnswer(candidate)
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return DateAnswer(None)

    day = parse_date(s, today=today)
    if day is None or not expects or _HAS_YEAR.search(s) or _RELATIVE_WORD.search(s) or s in _RELATIVE_DAYS:
        return DateAnswer(day)
    # A day and month without a year ("14 Jan", "14/1"): which year is what the question expects.
    named = _MONTH_IN_TEXT.search(s) or _NUMERIC_DATE.fullmatch(s)
    if named and expects in ("past", "past_or_future"):
        return DateAnswer(_yearless_by_expectation(day.month, day.day, today, expects) or day)
    return DateAnswer(day)


def _term_answer(match: re.Match[str], today: date, expects: str) -> DateAnswer:
    term, year_text, second_text = match.groups()
    if year_text is None:
        years = range(today.year + 1, today.year - 2, -1) if expects == "past" else range(today.year, today.year + 2)
        year = next((y for y in years if (term_start(term, y) <= today) == (expects == "past")), years[-1])
    elif second_text is not None:
        try:
            year = _academic_start_year(f"{year_text}/{second_text}") + (0 if term == "autumn" else 1)
        except ValueError:
            return DateAnswer(
                None,
                problem="I couldn't tell which year you meant. Please write two years in a row, for example "
                f"“{term} term 2027/28”.",
            )
    else:
        year = int(year_text)
    start, estimated = term_start_and_estimate(term, year)
    # "summer 2027" may mean the summer holidays: only "summer term" is taken as the term without asking.
    doubt = "" if " term" in match.group(0) else f"the start of the {term} term, {format_date(start)}"
    if not estimated:
        return DateAnswer(start, doubt=doubt)
    academic = academic_year_of_term(term, year)
    return DateAnswer(
        start,
        doubt=doubt + (f" (an estimate: Essex hasn't published its {academic} term dates yet)" if doubt else ""),
        note=f"That is an estimate of the start of the {term} term {year}: Essex hasn't published its {academic} "
        "term dates yet. Check it when they are published.",
    )


def _weekday_answer(match: re.Match[str], today: date, expects: str) -> DateAnswer:
    """'thurs 14th jan', 'last Thursday', 'Tuesday': the weekday must agree with the date it names."""
    which, weekday_text, rest = match.groups()
    weekday = _WEEKDAYS[weekday_text]
    if not rest:
        after = (weekday - today.weekday() - 1) % 7 + 1  # strictly after today
        before = (today.weekday() - weekday - 1) % 7 + 1  # strictly before today
        nxt, last = today + timedelta(days=after), today - timedelta(days=before)
        if which == "last" or (which is None and expects == "past"):
            return DateAnswer(last)
        if which in ("next", "this", "coming") or expects in ("future", "month"):
            return DateAnswer(nxt)
        nearer = last if before <= after else nxt
        return DateAnswer(nearer, doubt=f"{_WEEKDAY_NAMES[weekday]} {format_date(nearer)}")
    found = _read_date_answer(rest, today, "future" if expects == "month" else expects)
    if found.day is None or found.doubt:
        return DateAnswer(None)
    if found.day.weekday() == weekday:
        return found
    if not _HAS_YEAR.search(rest):
        # "Thursday 14 January" with no year: the nearest year in which 14 January is a Thursday, if close.
        for shift in (1, -1, 2, -2):
            other = _valid_date(found.day.year + shift, found.day.month, found.day.day)
            if other is None:
                continue
            wrong_side = (expects == "past" and other > today) or (expects == "future" and other < today)
            if other.weekday() == weekday and not wrong_side:
                return DateAnswer(other, doubt=f"{_WEEKDAY_NAMES[weekday]} {format_date(other)}")
    return DateAnswer(
        None,
        problem=f"{format_date(found.day)} is a {_WEEKDAY_NAMES[found.day.weekday()]}, not a "
        f"{_WEEKDAY_NAMES[weekday]}. Please check the date, for example “{_WEEKDAY_NAMES[found.day.weekday()]} "
        f"{format_date(found.day)}”.",
    )


_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_COUNT_RE = r"(\d{1,2}|" + "|".join(_WORD_NUMBERS) + ")"
_UNIT_DAYS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14}
_ANCHOR_RE = rf"(?:(?:next|this|coming|this\s+coming)\s+)?({_WEEKDAY_RE}|today|tomorrow|tmrw|tmw)"
# The relative phrases officers use, read by us (dateparser knows none of the weekday ones):
# "in two weeks", "in 3 days", "in a fortnight"
_IN_SO_LONG = re.compile(rf"(?:in|after)\s+{_COUNT_RE}\s+(days?|weeks?|fortnights?)(?:\s+time)?", _A)
# "a week on Tuesday", "a week from Friday", "a fortnight on Monday", "a week today", "a week tomorrow"
_A_WEEK_ON = re.compile(rf"(?:a|one)\s+(week|fortnight)\s+(?:on|from|after)?\s*{_ANCHOR_RE}", _A)
# "Friday week", "next Friday week", "Tuesday fortnight", "today week", "Tuesday after next"
_DAY_WEEK = re.compile(rf"{_ANCHOR_RE}\.?\s+(week|fortnight|after\s+next)", _A)
# "next week Wednesday", "next week on Wednesday", "Wednesday next week", "Wednesday of next week", "this week Friday"
_WEEK_DAY = re.compile(rf"(next|this)\s+week\s*,?\s+(?:on\s+)?({_WEEKDAY_RE})\.?", _A)
_DAY_OF_WEEK = re.compile(rf"(?:on\s+)?({_WEEKDAY_RE})\.?\s+(?:of\s+|in\s+)?(next|this)\s+week", _A)


def _anchor_day(word: str, today: date) -> date:
    """'tuesday' (the first one strictly after today), 'today' or 'tomorrow'."""
    if word in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[word])
    return today + timedelta(days=(_WEEKDAYS[word] - today.weekday() - 1) % 7 + 1)


def _relative_meeting_day(s: str, today: date) -> date | None:
    match = _IN_SO_LONG.fullmatch(s)
    if match:
        count = _WORD_NUMBERS.get(match.group(1)) or int(match.group(1))
        return today + timedelta(days=count * _UNIT_DAYS[match.group(2)])
    match = _A_WEEK_ON.fullmatch(s)
    if match:
        return _anchor_day(match.group(2), today) + timedelta(days=_UNIT_DAYS[match.group(1)])
    match = _DAY_WEEK.fullmatch(s)
    if match:
        later = 14 if match.group(2) == "fortnight" else 7
        return _anchor_day(match.group(1), today) + timedelta(days=later)
    match = _WEEK_DAY.fullmatch(s) or _DAY_OF_WEEK.fullmatch(s)
    if match:
        which, name = (match.group(1), match.group(2)) if match.re is _WEEK_DAY else (match.group(2), match.group(1))
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7 if which == "next" else 0)
        return monday + timedelta(days=_WEEKDAYS[name])
    return None


@dataclass(frozen=True)
class WorkingHours:
    """When meetings are normally held (EOI_WORKING_HOURS, "08:00-18:00"): a meeting outside them is booked
    only once the officer confirms, and an hour typed without am/pm is read as the one inside them."""

    starts: time = time(8)
    ends: time = time(18)

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text or "", _A)
        if match:
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h1 < 24 and m1 < 60 and (h2, m2) <= (24, 0) and m2 < 60 and (h1, m1) < (h2, m2):
                return cls(time(h1, m1), time.max if h2 == 24 else time(h2, m2))
        raise ValueError(f"EOI_WORKING_HOURS={text!r}: write it like 08:00-18:00 (24-hour, start before end)")

    def contains(self, clock: time) -> bool:
        return self.starts <= clock < self.ends

    def __str__(self) -> str:
        return f"{_clock_words(self.starts)}–{_clock_words(self.ends)}"


DEFAULT_WORKING_HOURS = WorkingHours()


def _clock_words(clock: time) -> str:
    """'2:00pm', '9:30am': how the bot says a time back."""
    if clock == time.max:
        return "midnight"
    return f"{clock.hour % 12 or 12}:{clock.minute:02d}{'am' if clock.hour < 12 else 'pm'}"


@dataclass(frozen=True)
class _Clock:
    value: time
    rest: str  # the text with the time cut out, for the day
    bare: bool  # a lone number ("Tuesday 3"), which may yet be part of the date ("December 3")
    assumed: str = ""  # how a time typed without am/pm was read, said back to the officer
    unsure: str = ""  # an hour that is neither am nor pm inside working hours: the officer must say which


# An hour with no am/pm: "at 3", "@ 3", or the last word ("Tuesday 3"). Anywhere else a lone number is
# more likely part of the date ("5 January 2027").
_BARE_AT = re.compile(r"(?:\bat|@)\s*(\d{1,2})(?![\d:./])(?!\s*(?:st|nd|rd|th|am|pm)\b)", _A)
_BARE_LAST = re.compile(r"(?<![\d:./])(?<=\s)(\d{1,2})$", _A)


def _working_hour(hour: int, minute: int, typed: str, hours: WorkingHours) -> tuple[time, str, str]:
    """(time, assumed, unsure) for an hour written without am/pm: the one of its morning and afternoon hours
    that is inside working hours, said back; `unsure` when neither or both are. "14:00" and "09:30" are
    24-hour times, kept as typed."""
    if not 1 <= hour <= 12 or typed.startswith("0"):
        return time(hour, minute), "", ""
    inside = [t for t in (time(hour % 12, minute), time(hour % 12 + 12, minute)) if hours.contains(t)]
    if len(inside) == 1:
        return inside[0], f"I read “{typed}” as {_clock_words(inside[0])}, within working hours.", ""
    return time(hour, minute), "", typed


def _clock_candidates(s: str, hours: WorkingHours = DEFAULT_WORKING_HOURS) -> list[_Clock]:
    """Every plausible clock time in ``s``, strongest first, each with the text left over."""
    found: list[_Clock] = []

    def add(match: re.Match[str], value: time, assumed: str = "", unsure: str = "", *, bare: bool = False) -> None:
        rest = (s[: match.start()] + " " + s[match.end() :]).strip()
        found.append(_Clock(value, re.sub(r"\s+", " ", rest), bare, assumed, unsure))

    for match in _TIME_WORDS.finditer(s):
        add(match, time(0) if match.group(1) == "midnight" else time(12))
    for match in _TIME_12H.finditer(s):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if 1 <= hour <= 12 and minute < 60:
            hour = hour % 12 + (12 if match.group(3) == "pm" else 0)
            add(match, time(hour, minute))
    for pattern in (_TIME_COLON, _TIME_DOT):
        for match in pattern.finditer(s):
            hour, minute = int(match.group(1)), int(match.group(2))
            if hour < 24 and minute < 60:
                add(match, *_working_hour(hour, minute, match.group(0).strip(), hours))
    for match in _TIME_H.finditer(s):
        hour, minute = int(match.group(1) or match.group(3)), int(match.group(2) or match.group(4) or 0)
        if hour < 24 and minute < 60:
            add(match, time(hour, minute))  # written on the 24-hour clock: 9h is 9am
    for match in _TIME_SAID.finditer(s):
        said, way, half, hour_text, half_day = match.groups()
        hour = _HOUR_WORDS.get(hour_text) or int(hour_text)
        minute = 30 if half else _MINUTES_SAID.get(said) or int(said)
        if not 1 <= hour <= 12 or not 0 < minute < 60:
            continue
        if way == "to":
            hour, minute = hour - 1 or 12, 60 - minute
        if half_day:
            add(match, time(hour % 12 + (12 if half_day == "pm" else 0), minute))
        else:
            add(match, *_working_hour(hour, minute, match.group(0).strip(), hours))
    for match in _OCLOCK.finditer(s):
        hour = _HOUR_WORDS.get(match.group(1)) or int(match.group(1))
        if 1 <= hour <= 12:
            add(match, *_working_hour(hour, 0, match.group(0).strip(), hours))
    if not found:  # a lone hour only when nothing more definite was typed ("2pm or 3" stays refused)
        for pattern in (_BARE_AT, _BARE_LAST):
            for match in pattern.finditer(s):
                hour = int(match.group(1))
                if 1 <= hour <= 12:  # "Tuesday 14" is as likely the 14th as 2pm: not guessed
                    add(match, *_working_hour(hour, 0, match.group(1), hours), bare=True)
    return found


def _meeting_day(s: str, today: date) -> date | None:
    """The day part of a meeting phrase, with the clock time already removed."""
    s = _EDGE_FILLER.sub("", s).strip()
    if not s:
        return None  # a time with no day: meetings need both
    if s in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[s])

    # "Tuesday", "next Tuesday", "this Tuesday": the first such day strictly after today.
    # Officers booking "Tuesday" on a Tuesday mean next week, and dateparser's "this"
    # would give today, so we do weekdays ourselves.
    match = _WEEKDAY_PHRASE.fullmatch(s)
    if match:
        ahead = (_WEEKDAYS[match.group(1)] - today.weekday() - 1) % 7 + 1
        return today + timedelta(days=ahead)

    relative = _relative_meeting_day(s, today) or _named_holiday(s, today)
    if relative is not None:
        return relative

    # "Tuesday 1 December": read the date, and insist the weekday agrees with it; a
    # mismatch means a typo somewhere, and guessing which half is right books the wrong day.
    match = _WEEKDAY_WITH_DATE.fullmatch(s)
    if match:
        day = _day_from_text(match.group(2), today, allow_month=False, allow_week=False)
        if day is None or day.weekday() != _WEEKDAYS[match.group(1)]:
            return None
        return day

    return _day_from_text(s, today, allow_month=False, allow_week=s.startswith("in "))


@dataclass(frozen=True)
class MeetingReading:
    """What the bot made of a meeting time: ``starts`` when a day and time were read; ``problem`` (with an
    example that works) when it must not be booked as typed; ``assumed`` says back an hour typed without
    am/pm."""

    starts: datetime | None = None
    problem: str | Text = ""
    assumed: str = ""
    # A part of a day ("Thursday afternoon"): `starts` to `until`, a range to pick a time in. A caller that
    # doesn't offer ranges refuses it with `problem`.
    until: datetime | None = None
    # "next Tuesday" said early in a week: this week's and next week's, to ask which (`problem` asks in words).
    either: tuple[datetime, ...] = ()
    part: str = ""  # "morning" or "afternoon" when a part of a day was said


# The furthest ahead a discussion is booked: further is more likely a wrong year than a plan.
MEETING_HORIZON = timedelta(days=548)


def parse_meeting_time(text: str, *, now: datetime, hours: WorkingHours = DEFAULT_WORKING_HOURS) -> datetime | None:
    """A meeting date and time typed by an officer, as an aware Europe/London datetime.

    Reads "next Tuesday at 2pm", "Tuesday 14:00", "tomorrow at 9.30am", "3/12 10:30"
    (day/month; a date already past this year means next year), "5 January 2027 at
    14:30", "14:30 on 5 Jan", "noon tomorrow", "Friday week 2pm", "a week on Tuesday at 10",
    "in two weeks at 11am", "next week Wednesday 3pm"... Weekdays, relative phrases, today/tomorrow
    and clock times are ours; the remaining date text goes to dateparser and is checked. An hour
    typed without am/pm ("Tuesday 3", "at 3:30") is the one inside working ``hours`` (3:00pm).

    The time is the London wall-clock time as typed, so a 2pm meeting is 2pm whether
    the date falls in GMT or BST. Returns None without a readable date *and* time. The
    past is not refused here (``read_meeting_time`` does), but relative phrases resolve forward
    from ``now``. A naive ``now`` is taken as London time. Never raises.
    """
    try:
        reading = _read_meeting_time(text, now, hours)
    except Exception:  # an unreadable time must re-ask, never crash the conversation
        return None
    return None if reading.until or reading.either else reading.starts


def read_meeting_time(text: str, *, now: datetime, hours: WorkingHours = DEFAULT_WORKING_HOURS) -> MeetingReading:
    """``parse_meeting_time`` with its reasons: a refusal (unreadable, no day, no time, an hour that is
    neither am nor pm in working hours, the past, over 18 months ahead) always carries an example that
    this reader accepts. Never raises."""
    try:
        reading = _read_meeting_time(text, now, hours)
    except Exception:  # an unreadable time must re-ask, never crash the conversation
        return MeetingReading(problem=md("I couldn't read that as a day and time. Try {}.", _examples()))
    if reading.starts is None or (reading.problem and not reading.until and not reading.either):
        return reading
    local_now = _london(now)
    if reading.starts <= local_now:
        return MeetingReading(
            reading.starts,
            md("{} is in the past. Try {}.", format_datetime(reading.starts), _examples()),
            reading.assumed,
        )
    if reading.starts > local_now + MEETING_HORIZON:
        return MeetingReading(
            reading.starts,
            md(
                "{} is more than 18 months away; is the year right? Try {}.",
                format_datetime(reading.starts),
                _examples(),
            ),
            reading.assumed,
        )
    return reading


def _examples() -> Text:
    said = [code(example.strip('"')) for example in MEETING_EXAMPLES.split(" or ")]
    return rich(*(part for n, example in enumerate(said) for part in ((" or ", example) if n else (example,))))


def _london(now: datetime) -> datetime:
    return now.replace(tzinfo=LONDON) if now.tzinfo is None else now.astimezone(LONDON)


def _day_example(day: date, clock: str = "2pm") -> str:
    """A phrase for ``day`` that the reader reads back as that day: "Tuesday 1 December 2026 at 2pm"."""
    return f"{_WEEKDAY_NAMES[day.weekday()]} {format_date(day)} at {clock}"


def _read_meeting_time(text: str, now: datetime, hours: WorkingHours) -> MeetingReading:
    if not isinstance(text, str) or not text.strip():
        return MeetingReading(problem=md("When should the discussion be? Try {}.", _examples()))
    if len(text) > _MAX_INPUT:
        return MeetingReading(problem=md("That's too long for a day and time. Try {}.", _examples()))
    today = _london(now).date()
    s = _normalise(text)
    candidates = _clock_candidates(s, hours)
    part = _PART_OF_DAY.search(s) if not candidates else None
    if part is not None:
        rest = (s[: part.start()] + " " + s[part.end() :]).strip()
        day = _meeting_day(rest, today)
        if day is not None:
            reading = _part_of_day(day, part.group(1), now, hours)
            later = _this_week_or_next(rest, day, today)
            if later is None or reading.starts is None:
                return reading
            clock = _Clock(reading.starts.time(), rest, bare=False)
            return _which_week(day, later, clock, now, hours, part=_part_name(part.group(1)))
    for clock in candidates:
        day = _meeting_day(clock.rest, today)
        if day is None:
            continue
        later = _this_week_or_next(clock.rest, day, today)
        if later is not None and not clock.unsure:
            return _which_week(day, later, clock, now, hours)
        if clock.unsure:
            hour = int(clock.unsure.split(":")[0].split(".")[0])
            return MeetingReading(
                problem=md(
                    "Is “{}” in the morning or the evening? Working hours are {}: say which. {}.",
                    clock.unsure,
                    hours,
                    _working_example([_day_example(day, f"{hour}am"), _day_example(day, f"{hour}pm")], now, hours),
                )
            )
        wall = datetime.combine(day, clock.value, tzinfo=LONDON)
        # Round-trip through UTC so a time inside the spring-forward gap (01:30 on the
        # last Sunday of March) becomes a real instant instead of a non-existent one.
        return MeetingReading(wall.astimezone(ZoneInfo("UTC")).astimezone(LONDON), assumed=clock.assumed)
    if candidates and not all(clock.bare for clock in candidates):
        if not _EDGE_FILLER.sub("", candidates[0].rest).strip():
            said = _clock_words(candidates[0].value).replace(":00", "")
            example = _working_example([f"tomorrow at {said}", f"Tuesday at {said}"], now, hours)
            read = _clock_words(candidates[0].value)
            return MeetingReading(problem=md("I read {} but not which day. {}.", read, example))
    else:
        day = _meeting_day(s, today)
        if day is not None:
            example = _working_example([_day_example(day)], now, hours)
            return MeetingReading(
                problem=md(
                    "I read {} {} but no time: add one. {}.", _WEEKDAY_NAMES[day.weekday()], format_date(day), example
                )
            )
    shown = " ".join(text.split())[:60]
    return MeetingReading(problem=md("I couldn't read “{}” as a day and time. Try {}.", shown, _examples()))


_NEXT_WEEKDAY = re.compile(rf"(?:on\s+)?next\s+({_WEEKDAY_RE})\.?", _A)


def _this_week_or_next(rest: str, day: date, today: date) -> date | None:
    """ "next Tuesday" typed on a Monday: the Tuesday of this week was read, but many mean the one after. The
    later day when "next" names a day still in this week (Monday to Sunday), else None."""
    if not _NEXT_WEEKDAY.fullmatch(_EDGE_FILLER.sub("", rest).strip()):
        return None
    same_week = day - timedelta(days=day.weekday()) == today - timedelta(days=today.weekday())
    return day + timedelta(days=7) if same_week else None


def _which_week(
    day: date, later: date, clock: _Clock, now: datetime, hours: WorkingHours, part: str = ""
) -> MeetingReading:
    """ "next Tuesday at 2" (or "next Friday morning") early in the week: asked, this week's or next."""
    said = _clock_words(clock.value).replace(":00", "")
    first, second = (datetime.combine(d, clock.value, tzinfo=LONDON) for d in (day, later))
    if part:
        days = [f"{_WEEKDAY_NAMES[d.weekday()]} {d.day} {_MONTH_NAMES[d.month - 1]}" for d in (day, later)]
        question = md("Do you mean {} or {} ({})? Say which, e.g. `{}`.", *days, part, _day_example(later, said))
    else:
        question = md(
            "Do you mean {} or {}? Say which, e.g. `{}`.",
            format_meeting_day(first),
            format_meeting_day(second),
            _day_example(later, said),
        )
    return MeetingReading(first, question, clock.assumed, either=(first, second), part=part)


def _part_name(word: str) -> str:
    return "morning" if word in ("morning", "am") else "afternoon"


def _part_of_day(day: date, part: str, now: datetime, hours: WorkingHours) -> MeetingReading:
    """'Thursday afternoon': that day from the part's start to its end, inside working hours."""
    begins, ends = PARTS_OF_DAY[_part_name(part)]
    begins, ends = max(begins, hours.starts), min(ends, hours.ends)
    if begins >= ends:  # working hours leave none of that part of the day
        example = _working_example([_day_example(day, "2pm"), _day_example(day, "10am")], now, hours)
        return MeetingReading(problem=md("That is outside working hours ({}). {}.", hours, example))
    starts, until = (datetime.combine(day, clock, tzinfo=LONDON) for clock in (begins, ends))
    said = _clock_words(begins).replace(":00", "")
    return MeetingReading(
        starts,
        md(
            "{} {} is a range ({}–{}): say a time in it, e.g. `{}`.",
            _WEEKDAY_NAMES[day.weekday()],
            _part_name(part),
            _clock_words(begins),
            _clock_words(ends),
            _day_example(day, said),
        ),
        until=until,
        part=_part_name(part),
    )


def _working_example(phrases: list[str], now: datetime, hours: WorkingHours) -> Text:
    """'e.g. `…`' with the first phrase that would be booked from ``now``, else the usual examples: a refusal
    never suggests something that would be refused in turn."""
    local_now = _london(now)
    for phrase in phrases:
        starts = _read_meeting_time(phrase, now, hours).starts
        if starts is not None and local_now < starts <= local_now + MEETING_HORIZON:
            return md("For example `{}`", phrase)
    return md("Try {}", _examples())


# --------------------------------------------------------------------------------------
# Times to check with the officer before booking
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _bank_holidays(year: int) -> dict[date, str]:
    """England's bank holidays in ``year``, from the ``holidays`` package (kept up to date by its maintainers,
    including one-off days such as coronations), so we keep no list of our own."""
    import holidays

    return dict(holidays.country_holidays("GB", subdiv="ENG", years=year).items())


def _holiday_key(name: str) -> str:
    return re.sub(r"['’]", "", name.casefold()).strip()


# Days people name that are not bank holidays, as (month, day).
_NAMED_DAYS = {"christmas eve": (12, 24), "new years eve": (12, 31), "christmas": (12, 25)}


def _named_holiday(s: str, today: date) -> date | None:
    """'Christmas Day', 'Boxing Day', 'Easter Monday': the next one from today (the day itself, not the
    day off in lieu), by the ``holidays`` package's names; and the few named days that aren't bank holidays
    ('Christmas Eve', 'New Year's Eve')."""
    wanted = _holiday_key(re.sub(r"^(?:on\s+|the\s+|next\s+|this\s+)+", "", s))
    if wanted in _NAMED_DAYS:
        return _next_occurrence(*_NAMED_DAYS[wanted], today)
    for year in (today.year, today.year + 1):
        for day, name in sorted(_bank_holidays(year).items()):
            if day >= today and "observed" not in name and _holiday_key(name) == wanted:
                return day
    return None


def bank_holiday(day: date) -> str | None:
    """The name of the bank holiday in England on ``day`` ("Christmas Day"), or None."""
    return _bank_holidays(day.year).get(day)


def reasons_to_confirm(
    starts: datetime, minutes: int, hours: WorkingHours = DEFAULT_WORKING_HOURS, *, happens: str = "starts"
) -> list[str]:
    """Why a meeting at ``starts`` lasting ``minutes`` should be checked before it is booked: a weekend, a bank
    holiday in England, or outside working hours. Empty when it is an ordinary working time. A moment with no
    length (a window opening or closing: ``minutes`` 0) is checked by the same rule, in its own verb
    (``happens``: "opens", "closes")."""
    local = _london(starts)
    ends = local + timedelta(minutes=minutes)
    reasons = []
    on = f"it {happens} on" if minutes == 0 else "it's"  # "it closes on a Saturday", "it's a Saturday"
    if local.weekday() >= 5:
        reasons.append(f"{on} a {_WEEKDAY_NAMES[local.weekday()]}")
    holiday = bank_holiday(local.date())
    if holiday:
        reasons.append(f"{on} {holiday}, a bank holiday in England")
    if not hours.contains(local.time()):
        reasons.append(f"it {happens} at {_clock_words(local.time())}, outside working hours ({hours})")
    elif ends.date() != local.date() or ends.time() > hours.ends:
        reasons.append(f"it ends at {_clock_words(ends.time())}, after working hours ({hours})")
    return reasons


def format_meeting_day(dt: datetime) -> str:
    """'Sunday 6 December at 10:00am': a meeting time short enough for a button."""
    local = _london(dt)
    day = f"{_WEEKDAY_NAMES[local.weekday()]} {local.day} {_MONTH_NAMES[local.month - 1]}"
    return f"{day} at {_clock_words(local.time())}"


def read_due_date(text: str, *, today: date) -> DateAnswer:
    """A day still to come for something to be done by, as people say it: "15 January", "31/12", "next Friday",
    "in two weeks", and the meeting phrases ("Friday week", "a week on Tuesday"). A day already past is refused
    with an example. Never raises."""
    answer = read_date_answer(text, today=today, expects="future")
    if answer.day is None and not answer.problem:
        try:
            day = _meeting_day(_normalise(text), today) if len(text) <= _MAX_INPUT else None
        except Exception:  # an unreadable date must re-ask, never crash the conversation
            day = None
        answer = DateAnswer(day)
    if answer.day is not None and answer.day < today:
        return DateAnswer(None, problem=f"{format_date(answer.day)} has passed. Say a day to come, e.g. “next Friday”.")
    return answer
