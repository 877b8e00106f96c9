"""Every in-scope school is reached, or officers are told plainly who is not: before a window opens
(`window preview`), when an officer opens it (`window open`), when the scheduler announces it, and in
`window deliveries`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from dialogs.replies import Reply
from dialogs.schedule import plan_due
from storage.models import Notice, Window
from storage.register import import_need
from storage.seed import demo_need_csv
from storage.windows import find_window, schools_in_scope
from tests.chat import officer
from tests.fakes.recording_sender import RecordingSender, every_school_has_a_fake_channel  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


async def _plan_next_window(service) -> tuple[str, list[str]]:
    """An officer plans next year's windows and cancels this one (windows may not overlap); the demo need is
    imported for next year's autumn window."""
    desk = officer(service)
    await desk.say("window plan 2027/28")
    await desk.press("Add both")
    await desk.say("window cancel 2627A")
    await desk.press("Yes, cancel it")
    async with service.db.session() as session:
        window = await find_window(session, "2728A")
        await import_need(session, demo_need_csv(), window=window, actor="t", now=service.clock.now())
        urns = [s.urn for s, _ in await schools_in_scope(session, window)]
        await session.commit()
    return "2728A", urns


async def test_an_officer_opening_a_window_nobody_can_hear_is_told_so_and_who(service):
    """The seen bug: 'Announcing to 32 schools', then 'Delivered 0, pending 0, failed 0', because no school had
    a channel. The demo register names no channels and no chat platform is on, so nobody can be reached."""
    code, urns = await _plan_next_window(service)
    n = len(urns)
    desk = officer(service)
    preview = await desk.say(f"window preview {code}")
    assert f"{n} of the {n} schools in scope have no working destination and will not hear from us" in preview
    assert f"({urns[0]})" in preview and "link PLATFORM:USER URN" in preview

    opened = await desk.say(f"window open {code}")
    assert "is open now" in opened and "Announcements to the 0 schools in scope that can be reached" in opened
    assert f"{n} of the {n} schools in scope have no working destination" in opened

    async with service.db.session() as session:
        planned = await plan_due(session, service.clock.now(), reach=service.dispatcher.school_destinations)
    line = next(line for line in planned.lines if "2027/28 opened" in line)
    assert f"{n} of them have no working destination and are not told" in line and urns[0] in line
    async with service.db.session() as session:
        told = await session.scalar(select(Notice).where(Notice.kind == "window opened"))
    assert f"{n} of the {n} schools in scope have no working destination" in Reply.from_dict(told.body).text.plain

    deliveries = await desk.say(f"window deliveries {code}")
    assert "Delivered 0, pending 0, failed 0." in deliveries and f"{n} of the {n} schools in scope" in deliveries


@pytest.mark.usefixtures("every_school_has_a_fake_channel")
async def test_officers_are_told_how_many_can_be_reached_when_only_some_can(service):
    code, urns = await _plan_next_window(service)
    service.senders.append(RecordingSender(unreachable={urns[0], urns[1]}))
    desk = officer(service)
    assert f"2 of the {len(urns)} schools in scope have no working destination" in await desk.say(
        f"window preview {code}"
    )
    opened = await desk.say(f"window open {code}")
    assert f"Announcements to the {len(urns) - 2} schools in scope that can be reached" in opened
    assert f"({urns[0]})" in opened and f"({urns[1]})" in opened and f"({urns[2]})" not in opened
    async with service.db.session() as session:
        await plan_due(session, service.clock.now(), reach=service.dispatcher.school_destinations)
        window = await session.scalar(select(Window).where(Window.term == "autumn1", Window.academic_year == "2027/28"))
        told = await session.scalar(select(Notice).where(Notice.kind == "window opened", Notice.window_id == window.id))
    assert Reply.from_dict(told.body).text.plain.startswith(
        f"Announcing to {len(urns) - 2} of the {len(urns)} schools in scope."
    )


@pytest.mark.usefixtures("every_school_has_a_fake_channel")
async def test_when_every_school_can_be_reached_officers_are_told_that_too(service):
    code, urns = await _plan_next_window(service)
    service.senders.append(RecordingSender())
    assert f"All {len(urns)} schools in scope can be reached." in await officer(service).say(f"window preview {code}")


async def test_a_week_before_a_window_opens_officers_hear_who_will_not_be_reached(service):
    code, urns = await _plan_next_window(service)
    async with service.db.session() as session:
        window = await find_window(session, code)
    n = len(urns)
    service.clock.set(window.opens_at - timedelta(days=8))
    async with service.db.session() as session:
        planned = await plan_due(session, service.clock.now(), reach=service.dispatcher.school_destinations)
    assert not any("opens soon" in line for line in planned.lines)  # not yet: more than a week ahead
    service.clock.set(window.opens_at - timedelta(days=6))
    for _ in range(2):  # the scheduler runs every few seconds: officers hear once
        async with service.db.session() as session:
            planned = await plan_due(session, service.clock.now(), reach=service.dispatcher.school_destinations)
    async with service.db.session() as session:
        told = list(await session.scalars(select(Notice).where(Notice.kind == "before opening")))
    assert len(told) == 1 and told[0].audience == "officers"
    assert told[0].body["title"].startswith("Autumn Term 1 2027/28 opens")
    assert f"{n} of the {n} schools in scope have no working destination" in Reply.from_dict(told[0].body).text.plain
    assert f"({urns[0]})" in Reply.from_dict(told[0].body).text.plain
