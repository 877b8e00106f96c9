"""Windows follow the rules discussions do, and what officers and schools are told about windows and times is true
at the moment they read it (issue 22, cases 7 and 8). The clock is tests/conftest.py's NOW: Monday 30 November
2026, 10:00, inside the demo window."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import cli
from bot.console import Console
from dialogs.dates import bank_holiday, essex_terms
from dialogs.schedule import plan_due
from dialogs.turns import Speaker
from storage.db import Database
from storage.models import EOI, School, Window
from storage.register import import_need
from storage.seed import demo_need_csv
from tests.chat import complete_eoi, headteacher, officer
from tests.conftest import LONDON, NOW
from tests.stories.console.test_discussion_console import in_a_folder_of_its_own, screens  # noqa: F401  (calendar files: a tmp folder)


async def _officers_read(service) -> str:
    """What waits for the officers at the console."""
    out = io.StringIO()
    await Console(service, Speaker("console", "officer-1"), school=None, out=out).show_notices()
    return out.getvalue()


async def test_a_window_with_no_need_imported_is_named_as_telling_nobody_at_add_preview_open_and_a_week_before(
    empty_service, clock
):
    desk = officer(empty_service)
    added = await desk.say('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 25 Mar 2027')
    assert "Added Spring Term 2 2026/27 (2627S)" in added
    assert "No identified need is imported for Spring Term 2 2026/27 yet" in added and "nobody will be told" in added
    assert "eoi-bot import need FILE.csv --window 2627S" in added

    preview = await desk.say("window preview 2627S")
    assert "no school is in scope: when it opens, nobody will be told" in preview
    assert "All 0 schools" not in preview and "0 schools are in scope" not in preview
    assert "nobody will be told" in await desk.say("window deliveries 2627S")

    # A week before it would open, the scheduler tells the officers, once however often it runs.
    clock.set(datetime(2027, 2, 15, 10, 0, tzinfo=LONDON))
    for _ in range(2):
        async with empty_service.db.session() as session:
            await plan_due(session, clock.now())
    warned = await _officers_read(empty_service)
    assert warned.count("opens Monday 22 February 2027 at 9:00am to nobody") == 1
    assert "No identified need is imported for Spring Term 2 2026/27 yet" in warned

    # Opening it early is asked about first, and nothing opens until the officer says yes.
    asked = await desk.say("window open 2627S")
    assert "Please check: no identified need is imported for it" in asked and "Nothing is opened" in asked
    async with empty_service.db.session() as session:
        window = await session.scalar(select(Window))
        assert window.opens_at > clock.now()
    opened = await desk.press("Yes, open it now")
    assert "is open now" in opened and "nobody will be told it is open" in opened

    async with empty_service.db.session() as session:
        await plan_due(session, clock.now())
    told = await _officers_read(empty_service)
    assert "Spring Term 2 2026/27 is open" in told and "nobody was told it is open" in told
    assert "Announcing to 0" not in told

    # Need that covers no school in the register is said plainly too.
    async with empty_service.db.session() as session:
        await import_need(
            session, demo_need_csv(), window=await session.scalar(select(Window)), actor="t", now=clock.now()
        )
        await session.commit()
    preview = await desk.say("window preview 2627S")
    assert "No school is in scope." in preview and "All 0 schools" not in preview


async def test_a_window_closing_on_a_bank_holiday_or_at_3am_is_asked_about_in_the_words_a_discussion_is(service):
    desk = officer(service)
    asked = await desk.say("window change 2627A closes 28 Dec 2026")
    assert "it closes on Boxing Day (observed), a bank holiday in England" in asked
    assert "Nothing is changed until you say yes" in asked
    asked = await desk.say("window change 2627A closes 19 Dec 2026 3am")
    assert "it closes on a Saturday; it closes at 3:00am, outside working hours (8:00am–6:00pm)" in asked
    async with service.db.session() as session:
        assert (await session.scalar(select(Window))).closes_at == datetime(2026, 12, 18, 17, tzinfo=LONDON)
    changed = await desk.press("Yes, change it")
    assert "now opens" in changed and "closes Saturday 19 December 2026 at 3:00am" in changed

    # The same rule a discussion is booked by, in the same words.
    head = await headteacher(service)
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    await desk.say(f"shortlist {ref}")
    booking = await desk.say(f"schedule {ref} 19/12 3am")
    assert "Please check: it's a Saturday; it starts at 3:00am, outside working hours (8:00am–6:00pm)" in booking

    asked = await desk.say('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 26 Mar 2027')
    assert "it closes on Good Friday, a bank holiday in England" in asked
    assert "Added Spring Term 2 2026/27" in await desk.press("Yes, add it")
    # A window whose dates are refused is refused before anything is asked.
    assert "would overlap" in await desk.say('window add "Autumn Term 1 2027/28" opens 1 Mar 2027 closes 27 Mar 2027')


def test_the_demo_window_lies_in_the_term_it_is_named_after_and_opens_and_closes_without_asking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'eoi-bot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("EOI_NOW", NOW.isoformat())
    assert cli.main(["seed", "--demo"]) == 0
    assert "Autumn Term 1 2026/27, open until Friday 18 December 2026 at 5:00pm" in capsys.readouterr().out

    async def the_window() -> Window:
        db = Database(url)
        async with db.session() as session:
            window = await session.scalar(select(Window))
        await db.dispose()
        return window

    window = asyncio.run(the_window())
    (autumn,) = [t for t in essex_terms() if t.name == "autumn" and t.academic_year == "2026/27"]  # term_dates.yaml
    opens, closes = window.opens_at.astimezone(LONDON), window.closes_at.astimezone(LONDON)
    assert window.term == "autumn1" and window.academic_year == "2026/27"
    assert autumn.first_day <= opens.date() <= NOW.date() < closes.date() <= autumn.last_day
    for moment in (opens, closes):  # nothing `window add` would ask about
        assert moment.weekday() < 5 and bank_holiday(moment.date()) is None and 8 <= moment.hour < 18


async def test_a_follow_up_due_tomorrow_is_promised_a_reminder_the_scheduler_keeps(service):
    head, desk, ref = await screens(service)
    await desk.type(f"schedule {ref} Tuesday at 2pm at County Hall")
    service.clock.set(NOW + timedelta(days=2))  # Wednesday 2 December: the discussion was yesterday
    said = await desk.type(f"outcome {ref} 3 follow up ECC by tomorrow: survey the two classrooms")
    assert "due 3 December 2026" in said
    assert "I'll remind the officers today, as it is due tomorrow" in said and "3 days before" not in said
    said = await desk.type(f"outcome {ref} SLA follow up school by 15 January: send the draft SLA budget")
    assert "I'll remind them on 12 January 2027, 3 days before" in said

    async with service.db.session() as session:
        await plan_due(session, service.clock.now())  # today, as promised
    assert "survey the two classrooms" in await desk.look()
    assert "send the draft SLA budget" not in await head.look()
    service.clock.set(datetime(2027, 1, 12, 9, 0, tzinfo=LONDON))
    async with service.db.session() as session:
        await plan_due(session, service.clock.now())
    assert "send the draft SLA budget by 15 January 2027" in await head.look()


async def test_a_headteacher_opening_the_console_after_the_close_is_not_told_the_window_is_open(service, clock):
    async with service.db.session() as session:
        await plan_due(session, clock.now())  # the announcement waits in the console's outbox for 114000
        window = await session.scalar(select(Window))
        school = await session.get(School, "114000")
    clock.set(window.closes_at + timedelta(days=1))  # Saturday 19 December: the head opens the console
    out = io.StringIO()
    await Console(service, Speaker("console", "head"), school=school, out=out).show_notices()
    shown = out.getvalue()
    assert "expressions of interest are open" not in shown and "Start an EOI" not in shown
    assert "Autumn Term 1 2026/27: expressions of interest have closed" in shown
    assert "closed Friday 18 December 2026 at 5:00pm" in shown


async def test_an_officer_booking_a_discussion_over_their_own_is_asked_first(service):
    first_head = await headteacher(service, urn="114000", user="a")
    first = re.search(r"EOI-2627A-\d{3}", await complete_eoi(first_head)).group(0)
    second_head = await headteacher(service, urn="114001", user="b")
    second = re.search(r"EOI-2627A-\d{3}", await complete_eoi(second_head)).group(0)
    desk = officer(service)
    for ref in (first, second):
        await desk.say(f"shortlist {ref}")
    assert "Scheduled" in await desk.say(f"schedule {first} 3/12 10:00 for 2 hours")
    asked = await desk.say(f"schedule {second} 3/12 11:30")  # half an hour before the first one ends
    assert (
        f"Please check: you already have the {first} discussion then, Thursday 3 December 2026 at 10:00am for "
        "120 minutes. Nothing is booked until you say yes." in asked
    )
    async with service.db.session() as session:
        assert (await session.scalar(select(EOI).where(EOI.ref == second))).status == "shortlisted"  # not booked
    assert "Scheduled" in await desk.press("Yes, book")
    assert "Rescheduled" in await desk.say(f"schedule {second} 3/12 12:00")  # as the first ends: nothing to ask
