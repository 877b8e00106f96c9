"""A window's information session for schools, and closing reminders that say what a school has left to do (issue
27, item 4 and the end of item 3), at the console. The clock is tests/conftest.py's NOW: Monday 30 November 2026,
10:00, inside the demo window (Autumn Term 1 2026/27, 2627A, open until Friday 18 December at 5pm), which the
scheduler has not yet announced."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.console import Console
from dialogs.schedule import plan_due, steps_to_come
from dialogs.turns import Speaker
from storage.models import AuditEntry, School, Window
from tests.chat import RESOURCED_ANSWERS, add_spring_window, complete_eoi, headteacher
from tests.conftest import LONDON
from tests.stories.console.test_discussion_console import (  # noqa: F401  (calendar files: a tmp folder)
    Screen,
    event,
    in_a_folder_of_its_own,
)

LINK = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_info%40thread.v2/0"


async def _at_consoles(service, *urns: str) -> tuple[Screen, list[Screen]]:
    """An officer at the console, and the head of each school at theirs (reading what comes for the school)."""
    heads = []
    async with service.db.session() as session:
        for urn in urns:
            school = await session.get(School, urn)
            out = io.StringIO()
            heads.append(Screen(Console(service, Speaker("console", f"head-{urn}"), school=school, out=out), out))
    out = io.StringIO()
    return Screen(Console(service, Speaker("console", "officer-1"), school=None, out=out), out), heads


async def _run_schedule(service) -> None:
    async with service.db.session() as session:
        await plan_due(session, service.clock.now())


async def test_an_information_session_reaches_the_announcement_and_a_reminder_two_days_before_each_with_its_ics(
    service, clock, tmp_path: Path
):
    desk, (head,) = await _at_consoles(service, "114000")

    # A part of a day, or a time on a Saturday, isn't set as typed: a range is refused with a whole command to type,
    # and an unusual time is asked about first, as a discussion's is.
    said = await desk.type("window session 2627A Thursday afternoon at County Hall, Chelmsford")
    assert "is a range" in said and "`window session 2627A Thursday 3 December 2026 at 1pm at County Hall`" in said
    said = await desk.type("window session 2627A Saturday 5 December 10am at County Hall, Chelmsford")
    assert "Please check: it's a Saturday. Nothing is set until you say yes." in said
    assert "No information session is set for Autumn Term 1 2026/27" in await desk.type("no")
    async with service.db.session() as session:
        assert (await session.scalar(select(Window))).session_at is None

    said = await desk.type("window session 2627A Tuesday 8 December 4pm at County Hall, Chelmsford")
    assert (
        "Set: the information session for Autumn Term 1 2026/27 is Tuesday 8 December 2026 at 4:00pm (UK time) at "
        "County Hall, Chelmsford." in said
    )
    assert "The announcement to the 32 schools in scope names it, with a calendar invitation" in said
    assert "they will be reminded Sunday 6 December 2026 at 4:00pm" in said
    assert "Tuesday 8 December 2026 at 4:00pm" in await desk.type("window session 2627A")
    async with service.db.session() as session:
        (audited,) = await session.scalars(select(AuditEntry).where(AuditEntry.action == "window session"))
        assert audited.actor == "console:officer-1" and "2026-12-08T16:00:00+00:00 at County Hall" in audited.note
        window = await session.scalar(select(Window))
    # The reminder is one of the window's steps to come, as `eoi-bot doctor` and the scheduler-lag metric read them.
    (reminder,) = [s for s in steps_to_come(window, clock.now()) if s.what == "session reminder"]
    assert reminder.due == datetime(2026, 12, 6, 16, 0, tzinfo=LONDON)

    # The window opens: the school's announcement names the session, and its calendar invitation comes with it.
    await _run_schedule(service)
    seen = await head.look()
    assert "Autumn Term 1 2026/27: expressions of interest are open" in seen
    assert "ECC is holding an information session about this on Tuesday 8 December 2026 at 4:00pm (UK time) at " in seen
    assert "County Hall, Chelmsford" in seen and "A calendar invitation for it comes with this message" in seen
    calendar, invited = event(tmp_path / "information-session-2627A.ics")
    assert calendar["METHOD"] == "REQUEST" and invited["SEQUENCE"] == 0
    assert invited["DTSTART"].dt == datetime(2026, 12, 8, 16, 0, tzinfo=LONDON)
    assert invited["DTEND"].dt == datetime(2026, 12, 8, 17, 0, tzinfo=LONDON)
    assert str(invited["LOCATION"]) == "County Hall, Chelmsford"
    assert "ECC information session: Autumn Term 1 2026/27" in str(invited["SUMMARY"])

    # Two days before, every school in scope is reminded, with the same calendar event; once however often it runs.
    clock.set(datetime(2026, 12, 6, 16, 0, tzinfo=LONDON))
    for _ in range(2):
        await _run_schedule(service)
    seen = await head.look()
    assert seen.count("A reminder: ECC's information session for schools about Autumn Term 1 2026/27") == 1
    assert "Tuesday 8 December 2026 at 4:00pm (UK time) at County Hall, Chelmsford" in seen
    assert "Expressions of interest can be sent until Friday 18 December 2026 at 5:00pm." in seen
    _, reminded = event(tmp_path / "information-session-2627A-2.ics")
    assert str(reminded["UID"]) == str(invited["UID"]) and reminded["SEQUENCE"] == 0
    assert not (tmp_path / "information-session-2627A-3.ics").exists()


async def test_a_session_set_after_the_announcement_is_told_on_its_own_and_a_move_or_cancel_updates_the_event(
    service, clock, tmp_path: Path
):
    desk, (head,) = await _at_consoles(service, "114000")
    await _run_schedule(service)  # the window is announced, with no session yet
    assert "information session" not in await head.look()

    said = await desk.type(f"window session 2627A Thursday 10 December 3:30pm at {LINK}")
    assert "(UK time), online: join online" in said
    assert "The 32 schools in scope have been told, with a calendar invitation, and will be reminded" in said
    seen = await head.look()
    assert "ECC is holding an information session for schools about Autumn Term 1 2026/27 on Thursday 10 " in seen
    assert f"online: join online ({LINK})" in seen  # a link, shown with its address at the console
    _, first = event(tmp_path / "information-session-2627A.ics")
    assert str(first["LOCATION"]) == "Online meeting" and str(first["URL"]) == LINK

    # Moved: the same event, one change later. Within two days of it, that message is its reminder.
    clock.set(datetime(2026, 12, 9, 16, 0, tzinfo=LONDON))
    said = await desk.type(f"window session 2627A Friday 11 December 2pm at {LINK}")
    assert "Moved: the information session" in said and "will be reminded" not in said
    seen = await head.look()
    assert "has moved to Friday 11 December 2026 at 2:00pm" in seen
    _, moved = event(tmp_path / "information-session-2627A-2.ics")
    assert str(moved["UID"]) == str(first["UID"]) and moved["SEQUENCE"] == 1
    await _run_schedule(service)
    assert "A reminder" not in await head.look()

    # Called off: the school is told and its calendar's event removed.
    said = await desk.type("window session 2627A cancel")
    assert "Cancelled: the information session for Autumn Term 1 2026/27 on Friday 11 December" in said
    seen = await head.look()
    assert "ECC has cancelled the information session about Autumn Term 1 2026/27" in seen
    calendar, cancelled = event(tmp_path / "information-session-2627A-3.ics")
    assert calendar["METHOD"] == "CANCEL" and str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["UID"]) == str(first["UID"]) and cancelled["SEQUENCE"] == 2
    assert "No information session is set" in await desk.type("window session 2627A")


async def test_a_session_already_past_when_the_window_is_announced_is_not_named(service, clock, tmp_path: Path):
    desk, (head,) = await _at_consoles(service, "114000")
    said = await desk.type("window session 2627A tomorrow 2pm at County Hall")
    assert "Set:" in said
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=LONDON))  # the day after it: the scheduler announces only now
    await _run_schedule(service)
    seen = await head.look()
    assert "expressions of interest are open" in seen and "information session" not in seen
    assert not list(tmp_path.glob("information-session-*.ics"))
    # Nor after the window's close, or once it has passed.
    assert "must be before Autumn Term 1 2026/27 closes" in await desk.type(
        "window session 2627A 21/12 10am at County Hall"
    )
    assert "is in the past" in await desk.type("window session 2627A yesterday 2pm at County Hall")


async def test_the_closing_reminders_say_what_each_school_has_left_to_do(service, clock):
    _, (drafting, waiting, done) = await _at_consoles(service, "114000", "114001", "114015")
    drafter = await headteacher(service, urn="114000", user="drafter")
    await drafter.say("start")
    for answer in RESOURCED_ANSWERS[:5]:  # provision, need, other needs, key stages, places
        await drafter.say(answer)
    ref = re.search(r"EOI-2627A-\d{3}", (await drafter.say("status"))).group(0)
    await complete_eoi(await headteacher(service, urn="114015", user="finisher"))
    await _run_schedule(service)
    for head in (drafting, waiting, done):
        await head.look()  # the announcement, read

    async with service.db.session() as session:
        window = await session.scalar(select(Window))
    clock.set(window.closes_at - timedelta(days=6))
    await _run_schedule(service)
    seen = await drafting.look()
    assert "Autumn Term 1 2026/27 closes in 7 days" in seen
    left = int(re.search(rf"Your draft {ref} has (\d+) questions left\.", seen).group(1))
    assert 15 <= left <= 25  # what the form still asks of it
    assert "If it isn't submitted by the close, Friday 18 December 2026 at 5:00pm" in seen
    seen = await waiting.look()
    assert "You haven't started an EOI for Autumn Term 1 2026/27 yet." in seen
    assert "closes in 7 days" not in await done.look()  # submitted: nothing left to do

    # The draft answered to the end (not yet submitted) is told it only needs submitting.
    for answer in RESOURCED_ANSWERS[5:]:
        await drafter.say(answer)
    clock.set(window.closes_at - timedelta(hours=20))
    await _run_schedule(service)
    seen = await drafting.look()
    assert f"Your draft {ref} has every question answered: it only needs submitting." in seen


async def test_a_window_closed_before_its_session_is_refused_and_a_cancelled_window_takes_its_session_with_it(
    service, clock, tmp_path: Path
):
    desk, (head,) = await _at_consoles(service, "114000")
    await _run_schedule(service)
    await desk.type("window session 2627A Thursday 10 December 3:30pm at County Hall")
    await head.look()
    said = await desk.type("window change 2627A closes 9 Dec 2026 5pm")
    assert "The information session is Thursday 10 December 2026 at 3:30pm, after that close" in said
    async with service.db.session() as session:
        assert (await session.scalar(select(Window))).closes_at == datetime(2026, 12, 18, 17, tzinfo=LONDON)

    await desk.type("window cancel 2627A")
    await desk.type("window cancel 2627A confirm")
    seen = await head.look()
    assert "Autumn Term 1 2026/27 is cancelled" in seen
    calendar, cancelled = event(tmp_path / "information-session-2627A-2.ics")
    assert calendar["METHOD"] == "CANCEL" and cancelled["SEQUENCE"] == 1
    async with service.db.session() as session:
        assert (await session.scalar(select(Window))).session_at is None


async def test_a_session_before_its_window_opens_is_told_at_once_and_reminded_two_days_before(
    service, clock, tmp_path: Path
):
    await add_spring_window(service)  # 2627S: 22 February to 25 March 2027, the demo's need
    desk, (head,) = await _at_consoles(service, "114000")
    said = await desk.type("window session 2627S Tuesday 12 January 4pm at County Hall, Chelmsford")
    assert "Set: the information session for Spring Term 2 2026/27 is Tuesday 12 January 2027 at 4:00pm" in said
    assert "have been told, with a calendar invitation, and will be reminded Sunday 10 January 2027 at 4:00pm" in said
    seen = await head.look()
    assert "ECC is holding an information session for schools about Spring Term 2 2026/27 on Tuesday 12 " in seen
    assert "Expressions of interest open Monday 22 February 2027 at 9:00am." in seen
    _, told = event(tmp_path / "information-session-2627S.ics")

    clock.set(datetime(2027, 1, 10, 16, 0, tzinfo=LONDON))
    await _run_schedule(service)
    seen = await head.look()
    assert "A reminder: ECC's information session for schools about Spring Term 2 2026/27" in seen
    _, reminded = event(tmp_path / "information-session-2627S-2.ics")
    assert str(reminded["UID"]) == str(told["UID"]) and reminded["SEQUENCE"] == told["SEQUENCE"] == 0
    # A window already closed takes no session.
    refused = await desk.type("window session 2627A Tuesday 12 January 4pm at County Hall")
    assert "Autumn Term 1 2026/27 has already closed." in refused


async def test_a_session_set_before_any_need_is_imported_is_reminded_once_the_need_puts_schools_in_scope(
    service, clock, tmp_path: Path
):
    """Seen: the reminder step ran with nobody in scope, and the schools the need brought in later never heard."""
    from storage.register import import_need
    from storage.seed import demo_need_csv
    from storage.windows import find_window

    desk, (head,) = await _at_consoles(service, "114000")
    said = await desk.type('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 25 Mar 2027')
    assert "Added" in said
    said = await desk.type("window session 2627S Tuesday 12 January 4pm at County Hall, Chelmsford")
    assert "the schools in scope once it is imported are reminded two days before" in said
    clock.set(datetime(2027, 1, 10, 17, 0, tzinfo=LONDON))
    await _run_schedule(service)  # two days before, nobody in scope: nothing to remind, and nothing spent
    assert "A reminder" not in await head.look()

    async with service.db.session() as session:
        window = await find_window(session, "2627S")
        await import_need(session, demo_need_csv(), window=window, actor="test", now=clock.now())
        await session.commit()
    clock.set(datetime(2027, 1, 10, 18, 0, tzinfo=LONDON))
    await _run_schedule(service)
    assert "A reminder: ECC's information session for schools about Spring Term 2 2026/27" in await head.look()
