"""A school's answer to its discussion invitation, in any channel: the buttons, or typed (`accept`,
`another time`), the console's numbers included. Asking for another time lets the school say which times suit
in plain English (read by dialogs.dates, as officers' times are); officers are told, with a button to book each.

The "another time" exchange is a small conversation: its entry point is `another time` without times (the person
is then `AwaitingTimes`, dialogs.conversation_state); in that state `on_times` takes the next message (times, or
*cancel* and the like); a command instead is its fallback, and drops the question (`stop_waiting`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import conversation_state, references
from dialogs.actions import Command
from dialogs.commands import HEADTEACHER
from dialogs.conversation_state import AwaitingTimes
from dialogs.dates import (
    DEFAULT_WORKING_HOURS,
    WorkingHours,
    format_clock,
    format_datetime,
    format_meeting_day,
    read_meeting_time,
)
from dialogs.officer_turn import CommandTurn
from dialogs.registry import handles
from dialogs.replies import Choice, Reply, refuse, say
from dialogs.rich import Text, md
from storage import audit, discussions, eois, notices, people
from storage.models import EOI, Discussion, Person, School
from storage.windows import LONDON

ACCEPT, ANOTHER_TIME = "accept", "another-time"
MOST_PROPOSALS = 5
EXAMPLE = "Thursday 10am or Friday 2pm"  # shown as words to type
# Times are split on "or", "and", ";" and new lines; a part that doesn't read is then tried comma by comma.
_BETWEEN = re.compile(r"\s*(?:;|\n|\bor\b|\band\b)\s*", re.IGNORECASE)
_NEVER_MIND = ("cancel", "stop", "never mind", "nevermind", "no", "leave it", "forget it")


@dataclass
class ReplyTurn:
    session: AsyncSession
    person: Person
    now: datetime
    hours: WorkingHours = DEFAULT_WORKING_HOURS

    @property
    def actor(self) -> str:
        return people.key_of(self.person)


def stop_waiting(person: Person) -> None:
    """The times are no longer asked for (given, cancelled, or a command instead): nothing is (an answer to an
    invitation ends the EOI dialog too, as it always has)."""
    conversation_state.keep(person, conversation_state.idle(conversation_state.of(person)))


def _wait_for_times(person: Person, eoi: EOI) -> None:
    """Ask which times suit for `eoi`'s discussion: the person's next message is taken as them (`on_times`)."""
    state = conversation_state.of(person)
    conversation_state.keep(person, conversation_state.awaiting_times(state, eoi.id))


async def _invitation(t: ReplyTurn, ref: str, command: str) -> tuple[EOI, School, Discussion] | list[Reply]:
    """The discussion the school is answering: the one its reference names (any school this person acts for, so
    an executive head answers without switching school), or, unnamed, the only one waiting among their schools;
    with several, a button for each that finishes `command`."""
    schools = {s.urn: s for s in await people.schools_of(t.session, t.person)}
    if ref:
        eoi = await references.by_ref(t.session, ref)
        if eoi is None or eoi.school_urn not in schools:
            audit.record(t.session, at=t.now, actor=t.actor, action="refused", note=f"discussion reply for {ref[:40]}")
            return [refuse("That invitation isn't for your school.")]
        found = [eoi]
    else:
        chosen = [t.person.school_urn] if t.person.school_urn in schools else list(schools)
        found = await discussions.scheduled_for(t.session, [u for u in chosen if u])
        if not found:
            return [
                say(md("Your school has no discussion waiting for a reply. Type *status* to see where things are."))
            ]
        if len(found) > 1:
            return [
                Reply(
                    text="Which discussion is that about?",
                    kind="question",
                    choices=[Choice(e.ref or "", Command(f"{command} {e.ref}")) for e in found],
                )
            ]
    eoi = found[0]
    discussion = await discussions.current(t.session, eoi.id)
    if discussion is None or eoi.status not in eois.MAY_HAVE_A_DISCUSSION:
        return [say(f"{eoi.ref} has no discussion waiting for a reply (it is {eoi.status}).")]
    return eoi, schools[eoi.school_urn], discussion


async def accept(t: ReplyTurn, rest: str) -> list[Reply]:
    found = await _invitation(t, rest.split()[0] if rest.split() else "", "accept")
    if isinstance(found, list):
        return found
    eoi, school, discussion = found
    stop_waiting(t.person)
    when = format_datetime(discussion.starts_at)
    if discussion.response == discussions.ACCEPTED:
        return [say(f"You've already accepted the {eoi.ref} discussion on {when}. ECC knows.")]
    discussions.answer(t.session, discussion, response=discussions.ACCEPTED, by=t.actor, now=t.now)
    await notices.to_officers(
        t.session,
        kind="discussion reply",
        now=t.now,
        eoi_id=eoi.id,
        school_urn=school.urn,
        body=say(
            f"{school.name} accepted the {eoi.ref} discussion on {when}.",
            kind="notice",
            choices=[Choice("Show", Command(f"show {eoi.ref}"))],
        ).to_dict(),
    )
    return [say(md("Thank you: you've accepted the {} discussion on *{}*. ECC has been told.", eoi.ref, when))]


async def another_time(t: ReplyTurn, rest: str) -> list[Reply]:
    """`another time [REF] [times]`: with times, they go to ECC; without, the school is asked for them."""
    words = rest.split()
    ref = words[0] if words and references.looks_like_ref(words[0]) else ""
    found = await _invitation(t, ref, "another time")
    if isinstance(found, list):
        return found
    eoi, school, discussion = found
    times = " ".join(words[1:] if ref else words)
    if times:
        return await _proposed(t, eoi, school, discussion, times)
    _wait_for_times(t.person, eoi)
    return [
        Reply(
            kind="question",
            text=md(
                "Which times would suit {} for the {} discussion (now {})? Say one or more, e.g. `{}`. ECC will "
                "book one. Or *cancel* to leave it as it is.",
                school.name,
                eoi.ref,
                format_datetime(discussion.starts_at),
                EXAMPLE,
            ),
        )
    ]


async def on_times(t: ReplyTurn, text: str) -> list[Reply]:
    """The school's next message while it is asked which times suit."""
    state = conversation_state.of(t.person)
    eoi = await t.session.get(EOI, state.times_for) if isinstance(state, AwaitingTimes) else None
    if " ".join(text.casefold().split()).strip(".!") in _NEVER_MIND or eoi is None:
        stop_waiting(t.person)
        return [say(md("OK: nothing has been sent. The invitation stands as it is; *status* shows it."))]
    found = await _invitation(t, eoi.ref or "", "another time")
    if isinstance(found, list):
        stop_waiting(t.person)
        return found
    return await _proposed(t, *found, text)


def _short(at: datetime) -> str:
    """'Thu 3 Dec 10:00am': a time on a button a phone shows whole (30 characters at most)."""
    weekday, day, month, _, clock = format_meeting_day(at).split()
    return f"{weekday[:3]} {day} {month[:3]} {clock}"


def read_times(text: str, *, now: datetime, hours: WorkingHours) -> tuple[list[tuple[datetime, str]], str | Text]:
    """The times in "Thursday 10am or Friday 2pm" (each as read, and as typed), or a problem naming the part
    that couldn't be read."""
    read: list[tuple[datetime, str]] = []
    for part in (p for p in _BETWEEN.split(text) if p.strip(" ,.")):
        pieces = [part]
        if read_meeting_time(part, now=now, hours=hours).problem and "," in part:
            pieces = [p for p in part.split(",") if p.strip()]
        for piece in pieces:
            reading = read_meeting_time(piece.strip(" ,."), now=now, hours=hours)
            if reading.until is not None and reading.starts is not None and reading.starts > now:
                pass  # "Thursday afternoon": a range the officer picks a time in
            elif reading.problem or reading.starts is None:
                return [], reading.problem or md("I couldn't read “{}” as a day and time.", piece.strip()[:60])
            if all(reading.starts != at for at, _ in read):
                read.append((reading.starts, " ".join(piece.split())))
    if not read:
        return [], md("Which times would suit? Say one or more, e.g. `{}`.", EXAMPLE)
    if len(read) > MOST_PROPOSALS:
        return [], md("Please suggest up to {} times, e.g. `{}`.", MOST_PROPOSALS, EXAMPLE)
    return read, ""


def _to_pick(at: datetime, words: str, t: ReplyTurn) -> list[datetime]:
    """The times an officer can book for one suggestion: itself, or each hour of a range ("Thursday afternoon")."""
    reading = read_meeting_time(words, now=t.now, hours=t.hours)
    if reading.until is None or reading.starts != at:
        return [at]
    hours = int((reading.until - at).total_seconds() // 3600)
    return [at + timedelta(hours=n) for n in range(max(hours, 1))]


def _said(at: datetime, words: str, t: ReplyTurn) -> str:
    """A suggestion as officers read it: "Thursday 3 December 2026 at 2:00pm", or a range "… 1:00pm to 5:00pm"."""
    reading = read_meeting_time(words, now=t.now, hours=t.hours)
    if reading.until is None or reading.starts != at:
        return format_datetime(at)
    return f"{format_datetime(at)} to {format_clock(reading.until)} (“{words}”)"


async def _proposed(t: ReplyTurn, eoi: EOI, school: School, discussion: Discussion, text: str) -> list[Reply]:
    times, problem = read_times(text, now=t.now, hours=t.hours)
    if problem:
        # Still waiting: the school says them again, and nothing has gone to ECC.
        _wait_for_times(t.person, eoi)
        return [refuse(md("{} Nothing has been sent to ECC yet: say the times again, or *cancel*.", problem))]
    stop_waiting(t.person)
    discussions.propose(t.session, discussion, times=times, by=t.actor, now=t.now)
    listed = "\n".join(f"• {_said(at, words, t)}" for at, words in times)
    where = f" at {discussion.place}" if discussion.place else ""
    also = f" with {', '.join(discussion.attendees)}" if discussion.attendees else ""
    starts = [at for at, words in times for at in _to_pick(at, words, t)]
    book = [
        Choice(
            f"Book {_short(at)}",
            Command(
                f"schedule {eoi.ref} confirm {at.astimezone(LONDON):%Y-%m-%d %H:%M} "
                f"for {discussion.duration_minutes} minutes{where}{also}",
            ),
            style="primary" if n == 0 else "",
        )
        for n, at in enumerate(starts)
    ]
    await notices.to_officers(
        t.session,
        kind="discussion reply",
        now=t.now,
        eoi_id=eoi.id,
        school_urn=school.urn,
        body=Reply(
            kind="notice",
            title=f"{eoi.ref}: another time asked for",
            text=md(
                "{} asked for another time for the {} discussion (booked for {}). They suggest:\n{}\nBook one with "
                "its button (the school gets the moved invitation and calendar update), or `schedule {} WHEN` for "
                "another.",
                school.name,
                eoi.ref,
                format_datetime(discussion.starts_at),
                listed,
                eoi.ref,
            ),
            choices=[*book, Choice("Show", Command(f"show {eoi.ref}"))],
        ).to_dict(),
    )
    return [
        say(
            f"Thank you: ECC has been sent the times you suggested for {eoi.ref}:\n{listed}\nAn officer will book "
            "one (or suggest another), and you'll get the moved invitation and a calendar update."
        )
    ]


# A school's answer to a discussion invitation names its EOI, so it is taken from any school the person acts for,
# chosen or not: not `at_school`.
@handles("accept", HEADTEACHER)
async def accept_command(t: CommandTurn) -> list[Reply]:
    return await accept(ReplyTurn(t.session, t.person, t.now, t.hours), t.rest)


@handles("another-time", HEADTEACHER)
async def another_time_command(t: CommandTurn) -> list[Reply]:
    return await another_time(ReplyTurn(t.session, t.person, t.now, t.hours), t.rest)
