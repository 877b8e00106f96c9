"""What a school and the officers are told about a discussion: the invitation with its agenda (data:
dialogs/discussion_agenda.yaml) and a calendar file, a move, a cancellation (with the calendar's CANCEL), and the
school's answer. Every message for someone other than the speaker is a Notice, delivered by bot.delivery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import calendar_invite
from dialogs.actions import Command
from dialogs.agenda import agenda
from dialogs.dates import format_datetime
from dialogs.replies import Choice, Fact, Reply
from dialogs.rich import Text, md
from storage import notices, people
from storage.models import EOI, Discussion, School


def where_words(place: str) -> str:
    """A place as the invitation says it: a meeting link is "online", with the link given separately."""
    link = calendar_invite.online_link(place)
    if link and link == place.strip():
        return " online"
    return f" at {place}" if place else ""


def agenda_facts(discussion: Discussion, eoi: EOI, *, ecc_names: list[str]) -> list[Fact]:
    """The agenda, each topic with its short explanation (for this provision), then who should come."""
    found = agenda()
    offer = eoi.offer or "resourced"
    facts = [Fact(f"{n}. {t.title}", t.explanation(offer)) for n, t in enumerate(found.topics, 1)]
    facts.append(Fact("From your school", ", ".join(found.school_roles)))
    facts.append(Fact("From ECC", ", ".join([*ecc_names, *found.ecc_roles])))
    if discussion.attendees:
        facts.append(Fact("Also invited", ", ".join(discussion.attendees)))
    link = calendar_invite.online_link(discussion.place)
    if link:
        facts.append(Fact("Join online", link))
    elif discussion.place:
        facts.append(Fact("Where", discussion.place))
    return facts


async def _organiser(session: AsyncSession, discussion: Discussion) -> calendar_invite.Organiser:
    """The officer who booked it, as their platform named them ("" when it didn't: the console)."""
    person = await people.by_key(session, discussion.scheduled_by)
    return calendar_invite.Organiser(person.display_name, person.email) if person else calendar_invite.Organiser("")


async def calendar_reply(
    session: AsyncSession, discussion: Discussion, eoi: EOI, school: School, *, method: str, now: datetime
) -> Reply:
    """The .ics as a file: "Add it to your calendar", or, for a cancellation, "it removes the event"."""
    name, content = calendar_invite.invitation(
        discussion,
        eoi,
        school,
        agenda=agenda(),
        method=method,
        organiser=await _organiser(session, discussion),
        now=now,
    )
    when = format_datetime(discussion.starts_at)
    text = (
        f"Calendar invitation for the {eoi.ref} discussion, {when}: open it to add it to your calendar (a later "
        "one for the same discussion updates it)."
        if method == calendar_invite.REQUEST
        else f"Calendar cancellation for the {eoi.ref} discussion, {when}: open it to remove it from your calendar."
    )
    return Reply(text=text, kind="notice", file=(name, content))


def answer_choices(ref: str) -> list[Choice]:
    """The school's answers to an invitation: on the invitation, and in `status` until it answers."""
    return [
        Choice("Accept", Command(f"accept {ref}"), style="primary"),
        Choice("Ask for another time", Command(f"another time {ref}")),
    ]


async def invitation(
    session: AsyncSession, discussion: Discussion, eoi: EOI, school: School, *, moved: bool, now: datetime
) -> list[tuple[str, Reply]]:
    """The school's invitation (or news that it moved), with the agenda, buttons to answer and the .ics: the
    notices LIFE's "schedule" tells the school (dialogs.telling), each with its kind."""
    ref = eoi.ref or ""
    organiser = await _organiser(session, discussion)
    when = format_datetime(discussion.starts_at)
    where = where_words(discussion.place)
    invited = Reply(
        kind="notice",
        title=f"{ref}: discussion {'moved' if moved else 'invitation'}",
        text=md(
            "{} *{}* for {} minutes{} (UK time). We'll talk through operational "
            "standards and service level agreements: the agenda is below, and a calendar invitation comes with it.",
            md("The discussion of your expression of interest {} has moved to", ref)
            if moved
            else md("ECC invites you to discuss your expression of interest {} on", ref),
            when,
            discussion.duration_minutes,
            where,
        ),
        facts=agenda_facts(discussion, eoi, ecc_names=[organiser.name] if organiser.name else []),
        choices=answer_choices(ref),
    )
    # The calendar file first, so the invitation with its buttons is the last thing the school sees.
    ics = await calendar_reply(session, discussion, eoi, school, method=calendar_invite.REQUEST, now=now)
    return [("calendar", ics), ("discussion", invited)]


async def called_off_notices(
    session: AsyncSession, discussion: Discussion, eoi: EOI, school: School, *, told: str | Text, now: datetime
) -> list[tuple[str, Reply]]:
    """What the school is told when a discussion to come is called off: `told` (worded by the caller) and the
    calendar's CANCEL for the event it was invited to."""
    body = Reply(kind="notice", title=f"{eoi.ref}: discussion cancelled", text=told)
    ics = await calendar_reply(session, discussion, eoi, school, method=calendar_invite.CANCEL, now=now)
    return [("discussion cancelled", body), ("calendar", ics)]


async def called_off(
    session: AsyncSession,
    discussion: Discussion,
    eoi: EOI,
    school: School,
    *,
    told: str | Text,
    now: datetime,
    officers: str = "",
) -> None:
    """A discussion to come was called off by something other than LIFE's "cancel-discussion" (the school
    withdrawing, a decline: storage.discussions.cancel_discussion): the school is told and sent the CANCEL;
    given `officers`' words, so are the officers."""
    for kind, reply in await called_off_notices(session, discussion, eoi, school, told=told, now=now):
        await notices.to_school(session, school_urn=school.urn, eoi_id=eoi.id, kind=kind, now=now, body=reply.to_dict())
    if officers:
        when = format_datetime(discussion.starts_at)
        note = Reply(
            kind="notice",
            text=f"{officers} Its discussion on {when} is cancelled, and {school.name} has been sent the calendar "
            "cancellation.",
            choices=[Choice("Show", Command(f"show {eoi.ref}"))],
        )
        await notices.to_officers(
            session, kind="discussion cancelled", now=now, eoi_id=eoi.id, school_urn=school.urn, body=note.to_dict()
        )
