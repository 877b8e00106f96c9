"""What people are told is true at every moment of the calendar: headteachers and officers, with the clock moved
across a window's life (open, closed, the next window, after a decision, the meeting time passed), are promised
only what the life table will then allow, and don't lose sight of what is still ahead."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from dialogs.lifecycle_words import SHORTLISTING_RULE
from storage.models import Notice
from storage.windows import LONDON
from tests.chat import RESOURCED_ANSWERS, Chat, add_spring_window, complete_eoi, headteacher, officer

AFTER_THE_CLOSE = datetime(2027, 1, 6, 10, 0, tzinfo=LONDON)  # the demo window closed on 18 December
IN_SPRING = datetime(2027, 3, 1, 10, 0, tzinfo=LONDON)  # the spring window added below is open


def _ref(text: str) -> str:
    found = re.search(r"EOI-\d{4}[AS]-\d{3}", text)
    assert found, text
    return found.group(0)


async def _booked(service, when: str) -> tuple[Chat, Chat, str]:
    """A head's EOI submitted, shortlisted and booked for a discussion `when` by an officer."""
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} {when}")
    return head, desk, ref


async def _school_notices(service, urn: str = "114000") -> list[Notice]:
    async with service.db.session() as session:
        found = select(Notice).where(Notice.audience == "school", Notice.school_urn == urn).order_by(Notice.id)
        return list(await session.scalars(found))


async def test_a_head_withdrawing_after_the_close_is_not_promised_a_restart(service, clock):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    clock.set(AFTER_THE_CLOSE)

    asked = await head.say("withdraw")
    assert "change your mind" not in asked and "restart" not in asked.replace("can no longer be restarted", "")
    assert "can no longer be restarted" in asked
    done = await head.press("Yes, withdraw")
    assert f"{ref} is withdrawn" in done
    assert "start it again" not in done and "while its window is open" not in done

    # With the next window open, the head is told the true way on: a new EOI there, which `start` begins.
    await add_spring_window(service)
    clock.set(IN_SPRING)
    status = await head.say("status")
    assert "You can start a new EOI in Spring Term 2 2026/27: type start." in status
    assert "start it again" not in status
    started = await head.say("start")
    assert "EOI-2627S-001" in started and "Question 1 of" in started


async def test_withdrawing_while_the_window_is_open_promises_a_restart_until_it_closes_and_keeps_it(service, clock):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    asked = await head.say("withdraw")
    assert "start it again with your answers (type start) until Friday 18 December 2026 at 5:00pm" in asked
    await head.press("Yes, withdraw")
    restarted = await head.say("start")
    assert f"{ref} is a draft again" in restarted


async def test_a_draft_carried_to_a_window_not_yet_open_is_described_truly(service, clock):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS[:5]:
        await head.say(answer)
    await head.say("save")
    await add_spring_window(service)
    clock.set(AFTER_THE_CLOSE)

    status = await head.say("status")
    assert "moved to Spring Term 2 2026/27" in status  # said once, by the turn that moved it
    assert "its window has closed, so its answers move" not in status
    assert "It can be submitted once its window opens, on Monday 22 February 2027" in status


async def test_an_approved_eoi_stays_in_the_schools_status_after_its_window_closes(service, clock):
    head, desk, ref = await _booked(service, "3/12 10:30")
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=LONDON))
    await desk.say(f"outcome {ref} 3 follow up ECC by 15 January: survey the two classrooms")
    await desk.say(f"decide {ref} approve Opening September 2027")
    clock.set(AFTER_THE_CLOSE)

    status = await head.say("status")
    assert f"{ref} is approved" in status
    assert "Implementation plan" in status or "next steps" in status.casefold()
    assert "survey the two classrooms" in status  # ECC's follow-up, still open
    # The same after the next window opens and the school begins a new EOI there.
    await add_spring_window(service)
    clock.set(IN_SPRING)
    await head.say("start")
    await head.say("save")
    status = await head.say("status")
    assert f"{ref} is approved" in status and "EOI-2627S-001 is draft" in status


async def test_a_decline_after_the_meeting_time_says_the_discussion_took_place_and_cancels_nothing(service, clock):
    _, desk, ref = await _booked(service, "3/12 10:00")
    clock.set(datetime(2026, 12, 3, 15, 0, tzinfo=LONDON))  # the discussion was this morning

    said = await desk.say(f"decide {ref} decline The accommodation won't be ready in time")
    assert "cancelled" not in said
    told = [n for n in await _school_notices(service) if n.created_at >= clock.now()]
    assert [n.kind for n in told] == ["decision"]
    decision = told[0].body["text"]
    assert "cancelled" not in str(decision)
    assert "follows your discussion with ECC on Thursday 3 December 2026 at 10:00am" in str(decision)


async def test_a_decline_before_the_meeting_still_calls_it_off_with_the_calendar(service, clock):
    _, desk, ref = await _booked(service, "3/12 10:00")
    said = await desk.say(f"decide {ref} decline The accommodation won't be ready in time")
    assert "is cancelled" in said
    kinds = [n.kind for n in await _school_notices(service) if n.created_at >= clock.now()]
    assert kinds[-3:] == ["decision", "discussion cancelled", "calendar"]


async def test_heads_read_what_is_true_and_what_they_can_do_never_officers_rules(service, clock):
    head, desk, ref = await _booked(service, "3/12 10:00")

    status = await head.say("status")
    assert f"{ref} is discussion scheduled" in status
    assert "an officer can" not in status and "cancel the discussion" not in status
    # The invitation not yet answered keeps its buttons in status.
    head.find("Accept")
    head.find("Ask for another time")
    assert status.count(SHORTLISTING_RULE) <= 1

    # After the close, the submitted answers say what is true, not a rule about open windows.
    other = await headteacher(service, "114001", "head-2")
    other_ref = _ref(await complete_eoi(other))
    clock.set(AFTER_THE_CLOSE)
    review = await other.say("review")
    assert "while its window is open" not in review and "the school can" not in review
    assert "can no longer be reopened for changes" in review
    await desk.say(f"not-shortlisted {other_ref} The need in your area is met this year.")
    status = await other.say("status")
    assert "nothing further" not in status and "though" not in status
    assert "It was not shortlisted this time." in status


async def test_after_a_reopen_officers_are_not_offered_to_cancel_a_discussion_that_no_longer_stands(service, clock):
    _, desk, ref = await _booked(service, "3/12 10:00")
    await desk.say(f"decide {ref} decline The accommodation won't be ready in time")
    reopened = await desk.say(f"reopen {ref} The panel misread the accommodation plan")
    assert "Reopened" in reopened
    labels = [c.label for c in desk.last.choices]
    assert "Cancel discussion" not in labels and "Schedule discussion" in labels
    assert "cancel the discussion" not in reopened
    shown = await desk.say(f"show {ref}")
    assert "Cancel discussion" not in [c.label for r in desk.replies for c in r.choices], shown
    refused = await desk.say(f"cancel discussion {ref} no longer needed")
    assert "no discussion to come" in refused


async def test_a_decision_can_be_reopened_only_while_officers_are_told_it_can(service, clock):
    _, desk, ref = await _booked(service, "3/12 10:00")
    clock.set(datetime(2026, 12, 3, 15, 0, tzinfo=LONDON))
    await desk.say(f"decide {ref} decline The accommodation won't be ready in time")
    shown = await desk.say(f"show {ref}")
    assert "Reopen" in [c.label for r in desk.replies for c in r.choices], shown
    clock.set(clock.now() + timedelta(days=15))
    await desk.say(f"show {ref}")
    assert "Reopen" not in [c.label for r in desk.replies for c in r.choices]
    refused = await desk.say(f"reopen {ref} The panel misread the accommodation plan")
    assert "only within 14 days" in refused


async def test_an_officers_status_counts_what_is_still_ahead_whatever_its_window(service, clock):
    head = await headteacher(service)
    ref = _ref(await complete_eoi(head))
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await add_spring_window(service)
    clock.set(IN_SPRING)  # the autumn window closed long ago; its shortlisted EOI still waits for a discussion

    status = await desk.say("status")
    assert "1: shortlisted, to book a discussion (list shortlisted)" in status
    assert "Nothing is waiting" not in status
