"""The demo (`eoi-bot seed --demo`): the fictional register and need (storage/seed.py) and a window open now
whose name and dates agree with Essex's term calendar (dialogs/term_dates.yaml) and the window rules: it lies in
the term it is named after, and opens and closes on working days in working hours, so nothing about it is one
`window add` would ask about."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.dates import LONDON, academic_year_of_term, format_datetime, term_dates, working_day
from storage.models import Window
from storage.seed import seed_register
from storage.windows import window_name

# The window each term holds (storage.windows.TERMS): the autumn term's and the spring term's.
WINDOW_OF_TERM = {"autumn": "autumn1", "spring": "spring2"}
OPEN_FOR = timedelta(days=14)  # a demo window has been open a fortnight: there is something to see
AT_LEAST = timedelta(days=1)  # and stays open at least a day more, to try things in
OUTSIDE_TERM = timedelta(days=28)  # how long a demo seeded in a holiday stays open


def _terms_around(today: date) -> list[tuple[str, date, date]]:
    """The autumn and spring terms from last year to next, in order: (term, first day, last day)."""
    found = [
        (term, *term_dates(term, year))
        for year in (today.year - 1, today.year, today.year + 1)
        for term in WINDOW_OF_TERM
    ]
    return sorted(found, key=lambda t: t[1])


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=LONDON)


def _working_day_on_or_before(day: date) -> date:
    while not working_day(day):
        day -= timedelta(days=1)
    return day


def _working_day_on_or_after(day: date) -> date:
    while not working_day(day):
        day += timedelta(days=1)
    return day


def demo_window(now: datetime) -> tuple[Window, bool]:
    """The demo's window, open at `now`, and whether it lies in its term. In term time (with a day of it left)
    it is the window of the term under way: open from a fortnight ago (or the term's first day) at 9am, closing
    at 5pm on the term's last day. In a holiday or the summer term no window of the calendar is open, so the demo
    opens the next term's window early, for four weeks, and says so."""
    local = now.astimezone(LONDON)
    today = local.date()
    terms = _terms_around(today)
    current = next(((t, f, last) for t, f, last in terms if f <= today and local + AT_LEAST <= _at(last, 17)), None)
    if current is not None:
        term, first, last = current
        opens, closes = _at(_working_day_on_or_after(max(first, today - OPEN_FOR)), 9), _at(last, 17)
    else:
        term, first, last = next((t, f, last) for t, f, last in terms if f > today)
        opens = _at(_working_day_on_or_before(today - OPEN_FOR), 9)
        closes = _at(_working_day_on_or_after(today + OUTSIDE_TERM), 17)
    window = Window(
        academic_year=academic_year_of_term(term, first.year),
        term=WINDOW_OF_TERM[term],
        opens_at=min(opens, local.replace(minute=0, second=0, microsecond=0)),  # open by now, even before 9am
        closes_at=closes,
        eoi_counter=0,
    )
    return window, current is not None


async def seed_demo(session: AsyncSession, *, now: datetime, actor: str = "seed") -> str:
    window, in_term = demo_window(now)
    seeded, window = await seed_register(session, window=window, now=now, actor=actor)
    when = f"open until {format_datetime(window.closes_at)}"
    if not in_term:
        when += " (outside term time no window of the term calendar is open, so the demo opens the next one early)"
    return f"{seeded} and {window_name(window)}, {when}."
