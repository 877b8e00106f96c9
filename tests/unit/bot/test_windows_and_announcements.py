"""Windows open, remind and close on time; every in-scope school hears exactly once, whatever happens."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.delivery import Dispatcher, SendFailed
from dialogs.dates import LONDON
from dialogs.schedule import plan_due
from storage.models import Delivery, Window
from storage.windows import schools_in_scope
from tests.chat import RESOURCED_ANSWERS, complete_eoi, headteacher, officer
from tests.fakes.recording_sender import RecordingSender, SimulatedCrash, every_school_has_a_fake_channel  # noqa: F401

pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("every_school_has_a_fake_channel"),
]
FAKE_OFFICER = ("fake", "officer-1")  # an officer the RecordingSender reaches


async def _announce(service, sender: RecordingSender, *, dispatcher: Dispatcher | None = None):
    service.senders.append(sender) if sender not in service.senders else None
    async with service.db.session() as session:
        planned = await plan_due(session, service.clock.now())
    dispatcher = dispatcher or service.dispatcher
    await dispatcher.plan_notices()
    return planned, await dispatcher.run_due()


async def _in_scope(service) -> dict[str, list[str]]:
    async with service.db.session() as session:
        window = await session.scalar(select(Window))
        return {s.urn: [n.need_type for n in needs] for s, needs in await schools_in_scope(session, window)}


async def test_a_window_opens_and_each_in_scope_school_hears_once_with_its_own_priority_needs(service):
    sender = RecordingSender()
    _, stats = await _announce(service, sender)
    in_scope = await _in_scope(service)
    announced = {d.removeprefix("fake:"): r for d, r in sender.received if r.title.endswith("are open")}
    assert set(announced) == set(in_scope) and stats.failed == 0
    assert all(n == 1 for n in sender.count("Autumn").values())
    # 114000 is a Colchester primary: ASD is its priority, not the secondary SEMH need.
    assert "ASD: Autistic Spectrum Disorder" in announced["114000"].text
    assert "SEMH" not in announced["114000"].text
    assert "114010" not in announced  # a Braintree primary: no need there
    # Running the scheduler again sends nothing more.
    again, stats = await _announce(service, sender)
    assert again.notices == 0 and stats.sent == 0


async def test_a_headteacher_in_the_console_sees_the_announcement_in_the_outbox(service):
    async with service.db.session() as session:
        await plan_due(session, service.clock.now())
    found = await service.conversations.pending_notices(destination="console:h", audience="school", school_urn="114000")
    assert [n.kind for n in found] == ["announcement"]


async def test_a_crash_in_the_middle_of_a_fan_out_neither_skips_nor_repeats_a_school(service):
    dying = RecordingSender()
    dying.crash_after(7)  # the process "dies" at the eighth send and sends nothing more
    with pytest.raises(SimulatedCrash):
        await _announce(service, dying, dispatcher=Dispatcher(service.db, service.clock, [dying], concurrency=1))
    # The rest of the dead process's tasks hit the crash too; wait until every one of them has ended.
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)
    assert len(dying.received) == 7
    restarted = RecordingSender()
    restarted.received = dying.received  # the same channels, seen from the restarted process
    dispatcher = Dispatcher(service.db, service.clock, [restarted], stale_after=timedelta(0))
    await _announce(service, restarted, dispatcher=dispatcher)
    counts = restarted.count("Autumn")
    assert set(counts) == {f"fake:{urn}" for urn in await _in_scope(service)}
    assert set(counts.values()) == {1}


async def test_a_replica_killed_mid_fan_out_has_its_sends_taken_over_by_the_one_still_running(service):
    # Found by the simulation: with two service processes and the service's date standing still (EOI_NOW), the
    # claim a killed process left on a send was judged stale by that date, which never moved, so the process
    # still running never took it over: those schools waited for a restart. A claim is a lease on real seconds.
    killed = RecordingSender()
    killed.crash_after(7)
    with pytest.raises(SimulatedCrash):
        await _announce(service, killed, dispatcher=Dispatcher(service.db, service.clock, [killed], concurrency=1))
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)
    the_date = service.clock.now()
    wall = [datetime.now(UTC)]
    running = RecordingSender()
    running.received = killed.received  # the same channels, seen from the other process
    other = Dispatcher(
        service.db, service.clock, [running], stale_after=timedelta(seconds=60), lease_clock=lambda: wall[0]
    )
    await other.run_due()
    assert await _still_claimed(service)  # the sends the killed process had in hand: their leases have not run out
    assert len(running.count("Autumn")) < len(await _in_scope(service))
    wall[0] += timedelta(seconds=61)  # a minute of real time; the service's date has not moved
    await other.run_due()
    assert service.clock.now() == the_date and await _still_claimed(service) == 0
    counts = running.count("Autumn")
    assert set(counts) == {f"fake:{urn}" for urn in await _in_scope(service)}
    assert set(counts.values()) == {1}


async def _still_claimed(service) -> int:
    async with service.db.session() as session:
        return len(list(await session.scalars(select(Delivery).where(Delivery.status == "sending"))))


async def test_two_schedulers_at_once_announce_each_school_once(service, test_db, backend):
    if backend == "sqlite":
        pytest.skip("SQLite runs as a single instance; the claim uses FOR UPDATE SKIP LOCKED on PostgreSQL")
    sender = RecordingSender()
    other_db = test_db.open()
    try:
        first = Dispatcher(service.db, service.clock, [sender])
        second = Dispatcher(other_db, service.clock, [sender])

        async def run(db, dispatcher):
            async with db.session() as session:
                await plan_due(session, service.clock.now())
            await dispatcher.plan_notices()
            return await dispatcher.run_due()

        await asyncio.gather(run(service.db, first), run(other_db, second))
    finally:
        await other_db.dispose()
    counts = sender.count("Autumn")
    assert set(counts) == {f"fake:{urn}" for urn in await _in_scope(service)}
    assert set(counts.values()) == {1}


async def test_a_429_is_waited_out_and_the_message_arrives_once(service):
    sender = RecordingSender()
    sender.fail_next(SendFailed("ratelimited", retry_after=1.5), times=2)
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    dispatcher = Dispatcher(service.db, service.clock, [sender], sleep=no_sleep)
    _, stats = await _announce(service, sender, dispatcher=dispatcher)
    assert waits.count(1.5) == 2 and stats.retries == 2 and stats.failed == 0
    assert set(sender.count("Autumn").values()) == {1}


async def test_a_429_storm_longer_than_the_retry_limit_still_delivers_every_announcement_once(service):
    # Found by the simulation (sim/): a storm of 429s with Retry-After (Slack's per-channel limit under a burst,
    # Teams' per-app limit) used up a message's five attempts, and it was reported as failed and never sent.
    sender = RecordingSender()
    sender.fail_next(SendFailed("ratelimited", retry_after=1), times=12)

    async def no_sleep(seconds: float) -> None:
        pass

    dispatcher = Dispatcher(service.db, service.clock, [sender], sleep=no_sleep, concurrency=1)
    _, stats = await _announce(service, sender, dispatcher=dispatcher)
    assert stats.failed == 0 and stats.retries == 12
    assert set(sender.count("Autumn")) == {f"fake:{urn}" for urn in await _in_scope(service)}
    assert set(sender.count("Autumn").values()) == {1}


async def test_a_delivery_that_keeps_failing_is_reported_to_officers(service):
    desk = officer(service)
    sender = RecordingSender()
    sender.fail_next(SendFailed("channel_not_found", permanent=True))
    dispatcher = Dispatcher(service.db, service.clock, [sender], officers=(FAKE_OFFICER,))
    await _announce(service, sender, dispatcher=dispatcher)
    await dispatcher.plan_notices()
    await dispatcher.run_due()
    officer_messages = [r.text for d, r in sender.received if d == "fake:officer-1"]
    assert any("could not be delivered" in text and "channel_not_found" in text for text in officer_messages)
    text = await desk.say("window deliveries")
    assert "failed 1" in text and "channel_not_found" in text


async def test_reminders_skip_schools_that_have_submitted_and_include_drafts(service, clock):
    sender = RecordingSender()
    await _announce(service, sender)
    done = await headteacher(service, urn="114000", user="done")
    await complete_eoi(done)
    drafting = await headteacher(service, urn="114001", user="drafting")
    await drafting.say("start")
    async with service.db.session() as session:
        closes = (await session.scalar(select(Window))).closes_at
    clock.set(closes - timedelta(days=6))
    await _announce(service, sender)
    reminded = {d.removeprefix("fake:"): r for d, r in sender.received if "closes in 7 days" in r.title}
    assert "114000" not in reminded
    assert re.search(r"Your draft EOI-2627A-\d{3} has \d+ questions left\.", reminded["114001"].text.plain)
    assert "You haven't started an EOI for Autumn Term 1 2026/27 yet." in reminded["114002"].text
    assert len(reminded) == len(await _in_scope(service)) - 1
    clock.set(closes - timedelta(hours=20))
    await _announce(service, sender)
    assert sum("closes tomorrow" in r.title for _, r in sender.received) == len(reminded)


async def test_when_the_window_closes_submissions_stop_and_officers_get_a_summary(service, clock):
    service.dispatcher.officers = (FAKE_OFFICER,)
    sender = RecordingSender()
    await _announce(service, sender)
    for urn, user in (("114000", "a"), ("114001", "b"), ("114015", "c")):
        await complete_eoi(await headteacher(service, urn=urn, user=user))
    late = await headteacher(service, urn="114002", user="late")
    await late.say("start")
    async with service.db.session() as session:
        closes = (await session.scalar(select(Window))).closes_at
    clock.set(closes + timedelta(minutes=1))
    await _announce(service, sender)
    summary = next(r for d, r in sender.received if r.title.endswith("has closed"))
    facts = {f.label: f.value for f in summary.facts}
    assert facts["EOIs"] == "4 in this window: 3 submitted, 1 draft not submitted"
    assert facts["By quadrant"] == "Mid 1, North East 2"
    assert facts["By district"] == "Chelmsford 1, Colchester 2"
    assert facts["By need type"] == "ASD 3"
    against = facts["Against identified need"]
    assert "ASD resourced Colchester primary: identified 16 places; 2 EOIs offering 24" in against
    for answer in RESOURCED_ANSWERS:
        await late.say(answer)
    assert "Submissions are closed" in await late.press("Submit")


async def test_window_plan_proposes_the_right_dates_for_2027_28(service):
    desk = officer(service)
    text = await desk.say("window plan 2027/28")
    assert "Autumn Term 1 2027/28: opens Wednesday 1 September 2027 at 9:00am, closes Friday 22 October 2027" in text
    assert "Spring Term 2 2027/28: opens Monday 21 February 2028 at 9:00am, closes Thursday 13 April 2028" in text
    assert "Added Autumn Term 1 2027/28 (2728A) and Spring Term 2 2027/28 (2728S)" in await desk.press("Add both")


async def test_overlapping_windows_are_refused(service):
    desk = officer(service)
    text = await desk.say('window add "Spring Term 2 2026/27" opens 1 Dec 2026 closes 20 Dec 2026')
    assert "would overlap Autumn Term 1 2026/27" in text
    ok = await desk.say('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 25 Mar 2027')
    assert "Added Spring Term 2 2026/27 (2627S)" in ok


async def test_a_window_opening_across_the_clock_change_opens_at_the_local_time_set(service):
    desk = officer(service)
    asked = await desk.say('window add "Spring Term 2 2026/27" opens 29 Mar 2027 9am closes 9 Apr 2027')
    assert "it opens on Easter Monday, a bank holiday in England" in asked
    assert "Added" in await desk.press("Yes, add it")
    async with service.db.session() as session:
        window = await session.scalar(select(Window).where(Window.term == "spring2"))
    assert window.opens_at.astimezone(LONDON).hour == 9
    assert window.opens_at.hour == 8  # BST: 08:00 UTC


async def test_officers_preview_who_will_be_contacted_and_who_is_unreachable(service):
    service.senders.append(RecordingSender(unreachable={"114000"}))
    desk = officer(service)
    text = await desk.say("window preview")
    in_scope = await _in_scope(service)
    assert f"{len(in_scope)} schools are in scope" in text
    assert f"1 of the {len(in_scope)} schools in scope has no working destination" in text
    assert "a fake channel" in text and "fake:114001" not in text  # words, not ids
    assert "Not reached: 1 of" in text and "Meadow Primary School, Colchester (114000)" in text
    assert f"{len(in_scope) - 1} can be reached ({len(in_scope) - 1} by fake)." in text


async def test_a_preview_where_nobody_can_be_reached_says_so_once_and_groups_the_schools(service):
    """The seen preview: the same "no working destination" line under each of 32 schools, and no summary."""
    text = await officer(service).say("window preview")
    in_scope = await _in_scope(service)
    n = len(in_scope)
    assert f"{n} of the {n} schools in scope have no working destination and will not hear from us" in text
    assert "listed below under “Not reached”, by the need they would hear of" in text
    assert text.count("no working destination") + text.count("NO WORKING DESTINATION") == 1
    # Grouped by the need they would hear of: each group once, with its count, each school named once.
    groups = re.findall(r"Not reached: (\d+) of (\d+)", text)
    assert sum(int(k) for k, _ in groups) == n and {int(of) for _, of in groups} == {n} and len(groups) < n
    for urn in in_scope:
        assert text.count(f"({urn})") == 1


async def test_closing_early_or_extending_an_open_window_tells_the_schools(service, clock):
    sender = RecordingSender()
    await _announce(service, sender)
    desk = officer(service)
    text = await desk.say("window change 2627A closes 17 Dec 2026 5pm")
    assert "now opens" in text and "Thursday 17 December 2026 at 5:00pm" in text and "have been told" in text
    await _announce(service, sender)
    assert sum("new closing date" in r.title for _, r in sender.received) == len(await _in_scope(service))
    assert "only its closing time" in await desk.say("window change 2627A opens 1 Dec 2026")


async def test_need_shows_the_identified_need_with_who_imported_it(service):
    text = await officer(service).say("need")
    assert "Imported by seed" in text and "high priority, 16 places" in text


async def test_an_officer_plans_previews_and_opens_a_window_and_the_announcements_go_out(service):
    desk = officer(service)
    await desk.say("window plan 2027/28")
    await desk.press("Add both")
    assert "would overlap Autumn Term 1 2026/27" in await desk.say("window open 2728A")
    await desk.say("window cancel 2627A")
    assert "is cancelled" in await desk.press("Yes, cancel it")
    await desk.say(f"import-free need check {0}")  # an unknown command is refused, nothing changes
    assert "don't know the command" in desk.text
    assert "no identified need is imported for it" in await desk.say("window open 2728A")  # it would tell nobody
    service.dispatcher.officers = (FAKE_OFFICER,)
    sender = RecordingSender()
    async with service.db.session() as session:
        # The demo need belongs to the demo window: give the new window the same need.
        from storage.register import import_need
        from storage.seed import demo_need_csv
        from storage.windows import find_window

        await import_need(
            session, demo_need_csv(), window=await find_window(session, "2728A"), actor="t", now=service.clock.now()
        )
        await session.commit()
    assert "is open now" in await desk.say("window open 2728A")
    await _announce(service, sender)
    assert any(r.title == "Autumn Term 1 2027/28: expressions of interest are open" for _, r in sender.received)
    assert any(r.title == "Autumn Term 1 2027/28 is open" for d, r in sender.received if "officer" in d)
    assert "Delivered" in await desk.say("window deliveries 2728A")
