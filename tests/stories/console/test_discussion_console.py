"""A shortlisted school's discussion in the console (issue 13, "Discussion"): the invitation with its agenda and
a calendar file, the school asking for another time in plain English, the officer booking one of its times, the
school accepting, the outcome recorded per topic with follow-ups, reminders before they are due, and a
withdrawal calling the discussion off. The clock is tests/conftest.py's NOW: Monday 30 November 2026, 10:00."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bot.console import Console
from dialogs.schedule import plan_due
from dialogs.turns import Speaker
from storage.models import EOI, Discussion, School
from tests.chat import complete_eoi, headteacher, officer
from tests.conftest import LONDON, NOW

MEETING_LINK = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0"


@pytest.fixture(autouse=True)
def in_a_folder_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console saves calendar files in the current folder: a test's own, never the repository."""
    monkeypatch.chdir(tmp_path)


class Screen:
    """One person at `eoi-bot chat`: what they type, and everything printed since they last looked."""

    def __init__(self, console: Console, out: io.StringIO) -> None:
        self.console, self.out, self.mark = console, out, 0

    async def type(self, line: str) -> str:
        await self.console.send(line)
        return self.read()

    async def look(self) -> str:
        """What waits for them when they open the console (messages for their school or the officers)."""
        await self.console.show_notices()
        return self.read()

    def read(self) -> str:
        text = self.out.getvalue()[self.mark :]
        self.mark = len(self.out.getvalue())
        return text


async def screens(service) -> tuple[Screen, Screen, str]:
    """The headteacher of 114000 (who has submitted an EOI, now shortlisted) and an officer, each at a console."""
    head_chat = await headteacher(service, urn="114000", user="head")
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head_chat)).group(0)
    async with service.db.session() as session:
        school = await session.get(School, "114000")
    head_out, desk_out = io.StringIO(), io.StringIO()
    head = Screen(Console(service, Speaker("console", "head"), school=school, out=head_out), head_out)
    desk = Screen(Console(service, Speaker("console", "officer-1"), school=None, out=desk_out), desk_out)
    await desk.type(f"shortlist {ref}")
    await head.look()  # "shortlisted", read
    return head, desk, ref


def event(path: Path):
    calendar = Calendar.from_ical(path.read_bytes())
    (found,) = calendar.walk("VEVENT")
    return calendar, found


async def test_a_school_asks_for_another_time_in_the_console_and_accepts_the_moved_discussion(
    service, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the console saves the calendar files here
    head, desk, ref = await screens(service)

    said = await desk.type(f"schedule {ref} Tuesday at 2pm for 1 hour at {MEETING_LINK} with Jo Smith (SEND lead)")
    assert f"Scheduled: {ref}" in said and "Tuesday 1 December 2026 at 2:00pm" in said
    assert "with the agenda and a calendar invitation" in said

    # The school sees the invitation with its agenda, who should come, the link, and the calendar file saved.
    seen = await head.look()
    assert "[message for your school]" in seen and "ECC invites you to discuss" in seen
    for topic in (
        "Admissions and placement",
        "Staffing and training",
        "Funding and the service level agreement",
        "Monitoring and quality assurance",
    ):
        assert topic in seen
    assert "per-pupil top-up" in seen  # a Resourced Provision's funding is explained as such
    assert "From your school: Headteacher, SENCo" in seen and "Also invited: Jo Smith (SEND lead)" in seen
    assert f"Join online: {MEETING_LINK}" in seen
    ics = tmp_path / f"discussion-{ref}.ics"
    assert f"(saved to {ics.name})" in seen
    calendar, first = event(ics)
    assert calendar["METHOD"] == "REQUEST" and first["SEQUENCE"] == 0
    assert first["DTSTART"].dt == datetime(2026, 12, 1, 14, 0, tzinfo=LONDON)
    assert first["DTSTART"].params["TZID"] == "Europe/London" and calendar.walk("VTIMEZONE")
    assert str(first["URL"]) == MEETING_LINK and "Staffing and training" in str(first["DESCRIPTION"])
    uid = str(first["UID"])
    # The buttons are numbered where the invitation is shown: `2` is "Ask for another time".
    assert "1) Accept" in seen and "2) Ask for another time" in seen

    asked = await head.type("2")
    assert "Which times would suit" in asked and "I don't know" not in asked
    refused = await head.type("sometime after the nativity")
    assert "couldn't read" in refused and "Nothing has been sent to ECC yet" in refused
    sent = await head.type("Thursday 10am or Friday 2pm")
    assert "ECC has been sent the times you suggested" in sent
    assert "Thursday 3 December 2026 at 10:00am" in sent and "Friday 4 December 2026 at 2:00pm" in sent

    # The officer is told, with a button to book each time; `1` books Thursday.
    told = await desk.look()
    assert "asked for another time" in told and "1) Book Thu 3 Dec 10:00am" in told
    assert "2) Book Fri 4 Dec 2:00pm" in told
    booked = await desk.type("1")
    assert f"Rescheduled: {ref}" in booked and "Thursday 3 December 2026 at 10:00am" in booked
    assert "(another time requested" not in (await desk.type(f"show {ref}"))

    # The school gets the moved invitation and a calendar update for the same event.
    moved = await head.look()
    # Said of the school's own EOI, not "Meadow Primary School, Colchester's expression of interest".
    assert (
        f"The discussion of your expression of interest {ref} has moved to Thursday 3 December 2026 at 10:00am" in moved
    )
    assert "Colchester's" not in moved
    # Saved beside the first invitation (the console never writes over a file already there).
    assert f"(saved to {ics.stem}-2.ics)" in moved
    calendar, second = event(ics.with_name(f"{ics.stem}-2.ics"))
    assert str(second["UID"]) == uid and second["SEQUENCE"] == 1 and calendar["METHOD"] == "REQUEST"
    assert second["DTSTART"].dt == datetime(2026, 12, 3, 10, 0, tzinfo=LONDON)
    assert "Jo Smith (SEND lead)" in moved  # those named stay invited when it moves
    accepted = await head.type("accept")
    assert "you've accepted" in accepted and "Thursday 3 December 2026 at 10:00am" in accepted
    assert "accepted the" in await desk.look()
    assert "(accepted)" in await desk.type(f"show {ref}")


async def test_outcomes_per_topic_become_follow_ups_the_school_sees_and_is_reminded_of(service):
    head, desk, ref = await screens(service)
    await desk.type(f"schedule {ref} Tuesday at 2pm at County Hall")
    assert "record its outcomes after it" in await desk.type(f"outcome {ref}")
    service.clock.set(NOW + timedelta(days=2))  # Wednesday: the discussion was yesterday

    listed = await desk.type(f"outcome {ref}")
    assert "7 topics still to record" in listed and "1. Admissions and placement: not recorded yet" in listed
    said = await desk.type(f"outcome {ref} staffing agreed: SENCo leads, two TAs recruited for September")
    assert "Staffing and training agreed" in said and "6 topics still to record" in said
    said = await desk.type(f"outcome {ref} SLA follow up school by 15 January: send the draft SLA budget")
    assert "Funding and the service level agreement to follow up: send the draft SLA budget" in said
    assert "due 15 January 2027" in said
    said = await desk.type(f"outcome {ref} 3 follow up ECC by Friday week: survey the two classrooms")
    assert "ECC (" in said and "due 11 December 2026" in said
    # What can't be recorded says why, and records nothing.
    problem = await desk.type(f"outcome {ref} outreach follow up by 15 January: visit")
    assert "Say who does it" in problem and "For example" in problem
    problem = await desk.type(f"outcome {ref} outreach follow up school by 1 November 2026: visit")
    assert "has passed" in problem
    problem = await desk.type(f"outcome {ref} outreach agreed school by 15 January: visits")  # a form's extra fields
    assert "An agreed topic has no owner or due date" in problem
    assert "4 topics still to record" in await desk.type(f"outcome {ref}")

    shown = await desk.type(f"show {ref}")
    assert "Follow-ups:" in shown
    assert "send the draft SLA budget (the school, due 15 January 2027)" in shown
    status = await head.type("status")
    assert "Actions from the discussion" in status
    assert "send the draft SLA budget (your school, due 15 January 2027)" in status

    # Three days before, the school is reminded, once however often the scheduler runs; ECC's is late.
    service.clock.set(datetime(2027, 1, 12, 9, 0, tzinfo=LONDON))
    for _ in range(2):
        async with service.db.session() as session:
            await plan_due(session, service.clock.now())
    reminded = await head.look()
    assert reminded.count("A reminder from ECC") == 1 and "send the draft SLA budget by 15 January 2027" in reminded
    late = await desk.look()
    assert late.count("Overdue: ECC") == 1 and "survey the two classrooms" in late

    assert "ECC's to do" in await head.type(f"follow-up {ref} 1 done")  # ECC's isn't the school's to mark
    assert "Done: follow-up 1" in await desk.type(f"follow-up {ref} 1 done")
    shown = await desk.type(f"show {ref}")
    assert "survey the two classrooms (ECC, done)" in shown and "(the school, due 15 January 2027)" in shown

    # The school marks its own done from status (ECC is told).
    status = await head.type("status")
    assert "Done: follow-up 2" in status and "Done: follow-up 1" not in status
    said = await head.type("follow-up 2 done")  # its school's one EOI with follow-ups: no reference needed
    assert f"Done: follow-up 2 of {ref} (send the draft SLA budget). ECC has been told." in said
    assert f"marked follow-up 2 of {ref} done: send the draft SLA budget" in await desk.look()
    assert "send the draft SLA budget (the school, done)" in await desk.type(f"show {ref}")
    assert "Done: follow-up" not in await head.type("status")


async def test_withdrawing_calls_the_discussion_off_in_the_schools_calendar_and_officers_are_told(
    service, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    head, desk, ref = await screens(service)
    await desk.type(f"schedule {ref} Tuesday at 2pm at County Hall")
    await head.look()
    ics = tmp_path / f"discussion-{ref}.ics"
    uid = str(event(ics)[1]["UID"])

    said = await head.type(f"withdraw {ref} confirm")  # the console shows the school's messages after a turn
    assert "is withdrawn" in said and "Its discussion with ECC is cancelled" in said
    assert (
        "[message for your school]" in said
        and "so its discussion with ECC on Tuesday 1 December 2026 at 2:00pm is cancelled" in said
    )
    assert f"(saved to {ics.stem}-2.ics)" in said  # beside the invitation, never over it
    calendar, cancelled = event(ics.with_name(f"{ics.stem}-2.ics"))
    assert calendar["METHOD"] == "CANCEL" and cancelled["STATUS"] == "CANCELLED"
    assert str(cancelled["UID"]) == uid and cancelled["SEQUENCE"] == 1
    told = await desk.look()
    assert f"withdrew {ref}" in told and "Its discussion on Tuesday 1 December 2026 at 2:00pm is cancelled" in told
    shown = await desk.type(f"show {ref}")
    assert "Discussion:" not in shown and "discussion cancelled by" in shown  # none stands; the history says why


@pytest.mark.parametrize("typed", ["accept", "Accept", "1"])
async def test_accept_works_typed_or_by_number_in_the_console(service, typed):
    head, desk, ref = await screens(service)
    await desk.type(f"schedule {ref} Tuesday at 2pm at County Hall")
    await head.look()
    assert "you've accepted" in await head.type(typed)


async def test_a_school_with_two_discussions_is_asked_which_one_it_accepts(service):
    """An RP and a PP from one school, both with a discussion booked: a bare `accept` asks which."""
    from tests.stories.console.test_two_offers import PARTNERSHIP_REST, _answer

    head = await headteacher(service, urn="114000", user="head")
    rp = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    await head.say("start")
    pp = re.search(r"EOI-2627A-\d{3}", await head.press("Start a Partnership Provision EOI")).group(0)
    await _answer(head, PARTNERSHIP_REST)
    await head.press("Submit")
    await head.press("I confirm")
    desk = officer(service)
    for ref, when in ((rp, "Tuesday at 2pm"), (pp, "Wednesday at 2pm")):
        await desk.say(f"shortlist {ref}")
        await desk.say(f"schedule {ref} {when}")
    asked = await head.say("accept")
    assert "Which discussion" in asked and [c.label for c in head.last.choices] == [rp, pp]
    assert f"you've accepted the {pp} discussion on Wednesday 2 December 2026" in await head.press(pp)
    async with service.db.session() as session:
        responses = dict(
            (
                await session.execute(
                    select(EOI.ref, Discussion.response).join(Discussion, Discussion.eoi_id == EOI.id)
                )
            ).all()
        )
    assert responses == {rp: "invited", pp: "accepted"}
