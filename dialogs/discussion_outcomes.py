"""After the discussion: an officer records the outcome of each agenda topic (agreed, or to follow up, with a
note), typed (`outcome REF TOPIC ...`) or on a form (Slack modal, Teams card). A follow-up is a tracked action
with an owner (the school, or an ECC officer) and a due date in plain English; officers see them in `show`,
the school in `status`, and the scheduler (dialogs/schedule.py) reminds the owner before the date, once."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import references
from dialogs.actions import Command, OpenForm
from dialogs.agenda import Topic, agenda
from dialogs.commands import OFFICER, SHARED
from dialogs.dates import format_date, format_datetime, read_due_date
from dialogs.officer_turn import CommandTurn, OfficerTurn
from dialogs.registry import handles
from dialogs.replies import Choice, Fact, Form, FormField, Reply, refuse, say
from dialogs.rich import Text, md, rich
from storage import audit, discussions, notices, people
from storage.models import EOI, Discussion, FollowUp, Person, School
from storage.windows import LONDON

# How many days before its due date a follow-up's owner is reminded.
REMIND_DAYS = 3


def reminded_on(due: date, today: date) -> date:
    """The day the scheduler (dialogs.schedule) reminds a follow-up's owner: REMIND_DAYS before it is due, or today
    when that day has already come."""
    return max(due - timedelta(days=REMIND_DAYS), today)


def reminder_promise(due: date, today: date) -> str:
    """When the owner will be reminded, as the scheduler keeps it: "on 12 January 2027, 3 days before", or
    "today, as it is due tomorrow" when the reminder's day has already come."""
    on = reminded_on(due, today)
    if on > today:
        return f"on {format_date(on)}, {REMIND_DAYS} days before"
    days = (due - today).days
    return "today, as it is due " + ("today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days")


EXAMPLES = md(
    "`outcome EOI-2627A-001 staffing agreed: SENCo leads, two TAs from September` or "
    "`outcome EOI-2627A-001 funding follow up school by 15 January: send the draft SLA budget`"
)
_RESULT = re.compile(r"^(agreed|agree|to\s+follow[\s-]*up|follow[\s-]*up)\b\s*", re.IGNORECASE)
_BY = re.compile(r"\s+by\s+", re.IGNORECASE)
_SCHOOL_WORDS = ("school", "the school", "headteacher", "the headteacher")
_ECC_WORDS = ("ecc", "me", "officer", "the council", "council")


async def eoi_or_refuse(t: OfficerTurn, ref: str, tail: str = "") -> tuple[EOI, School] | Reply:
    return await references.eoi_named(t.session, ref, "outcome", tail)


def topic_form(ref: str, topic: Topic) -> Form:
    """One topic's outcome on a form: what `outcome REF TOPIC ...` would say, field by field."""
    return Form(
        title=f"Outcome: {ref}",
        command=f"outcome {ref} {topic.id}",
        submit_label="Record",
        fields=(
            FormField("result", topic.title, options=("agreed", "follow up")),
            FormField("owner", "If to follow up: who does it", options=("school", "ECC"), optional=True),
            FormField("due", "If to follow up: by when", "e.g. 15 January or Friday week", optional=True, prefix="by "),
            FormField("note", "Note (for a follow-up: what is to be done)", multiline=True, optional=True, prefix=": "),
        ),
    )


def _owner_words(action_: FollowUp, names: dict[str, str], *, for_school: bool) -> str:
    if action_.owner == discussions.SCHOOL:
        return "your school" if for_school else "the school"
    name = names.get(action_.owner_officer, "")
    return f"ECC ({name})" if name else "ECC"


def follow_up_line(action_: FollowUp, number: int, names: dict[str, str], *, today: date, for_school: bool) -> str:
    late = " (overdue)" if action_.status == discussions.OPEN and action_.due_on < today else ""
    state = "done" if action_.status == discussions.DONE else f"due {format_date(action_.due_on)}{late}"
    topic = agenda().topic(action_.topic)
    about = topic.title if topic else action_.topic
    return f"{number}. {about}: {action_.what} ({_owner_words(action_, names, for_school=for_school)}, {state})"


async def follow_up_lines(session: AsyncSession, eoi: EOI, *, today: date, for_school: bool) -> list[str]:
    found = await discussions.follow_ups(session, eoi.id)
    names = await people.names_of(session, {a.owner_officer for a in found if a.owner_officer})
    return [follow_up_line(a, n, names, today=today, for_school=for_school) for n, a in enumerate(found, 1)]


async def outcome_facts(session: AsyncSession, eoi: EOI, discussion: Discussion | None) -> list[Fact]:
    """What `show` adds: each agenda topic's outcome so far."""
    if discussion is None:
        return []
    recorded = await discussions.outcomes(session, discussion.id)
    lines = []
    for n, topic in enumerate(agenda().topics, 1):
        found = recorded.get(topic.id)
        said = f"{found.result}{': ' + found.note if found and found.note else ''}" if found else "not recorded yet"
        lines.append(f"{n}. {topic.title}: {said}")
    return [Fact("Outcomes", "\n".join(lines))] if recorded else []


async def show_facts(t: OfficerTurn, eoi: EOI) -> tuple[list[Fact], list[Choice]]:
    """The discussion (answer and proposed times), its outcomes and follow-ups, for an officer's `show`."""
    discussion = await discussions.current(t.session, eoi.id)
    facts: list[Fact] = []
    choices: list[Choice] = []
    if discussion is not None:
        where = f" at {discussion.place}" if discussion.place else ""
        said = f"{format_datetime(discussion.starts_at)}{where} ({discussion.response})"
        if discussion.proposals:
            said += "; the school suggests " + " or ".join(
                format_datetime(datetime.fromisoformat(p["at"])) for p in discussion.proposals
            )
        facts.append(Fact("Discussion", said))
        facts += await outcome_facts(t.session, eoi, discussion)
        choices.append(Choice("Record outcomes", Command(f"outcome {eoi.ref}")))
    lines = await follow_up_lines(t.session, eoi, today=t.now.astimezone(LONDON).date(), for_school=False)
    if lines:
        facts.append(Fact("Follow-ups", "\n".join(lines)))
    return facts, choices


async def _officer_named(session: AsyncSession, words: str) -> Person | None:
    """An ECC officer by their name or platform id (`slack:U0123`), as `officer list` shows them."""
    wanted = " ".join(words.casefold().split())
    for person in await people.officers(session):
        if wanted in (person.display_name.casefold(), people.key_of(person).casefold()):
            return person
    return None


async def _held(t: OfficerTurn, eoi: EOI) -> Discussion | Reply:
    discussion = await discussions.current(t.session, eoi.id)
    if discussion is None:
        return refuse(f"{eoi.ref} has no discussion to record an outcome for (it is {eoi.status}).")
    if discussion.starts_at > t.now:
        return refuse(
            f"The {eoi.ref} discussion is on {format_datetime(discussion.starts_at)}: record its outcomes after it."
        )
    return discussion


@handles("outcome", OFFICER)
async def outcome_command(t: CommandTurn) -> list[Reply]:
    """`outcome REF` lists the agenda with what is recorded (a form per topic); `outcome REF TOPIC agreed[: note]`
    or `outcome REF TOPIC follow up OWNER by DATE: what` records one topic."""
    rest = t.rest
    ref, _, tail = rest.strip().partition(" ")
    found = await eoi_or_refuse(t, ref, tail)
    if isinstance(found, Reply):
        if found.kind != "error":
            return [found]
        return [refuse(md("{} For example: {}.", found.text, EXAMPLES))]
    eoi, school = found
    held = await _held(t, eoi)
    if isinstance(held, Reply):
        return [held]
    tail = tail.strip()
    if not tail:
        return [await _agenda_reply(t, eoi, school, held)]
    topic, after = _topic_in(tail)
    if topic is None:
        names = ", ".join(f"{n}. {t_.id}" for n, t_ in enumerate(agenda().topics, 1))
        message = md("Which agenda topic? Name one ({}) or its number. For example: {}.", names, EXAMPLES)
        return [refuse(message)]
    match = _RESULT.match(after)
    if not match:
        message = md("Say *agreed* or *follow up* for {}. For example: {}.", topic.title, EXAMPLES)
        return [refuse(message, field_errors={"result": "Choose agreed or follow up."})]
    result = discussions.AGREED if match.group(1).casefold().startswith("agree") else discussions.FOLLOW_UP
    after = after[match.end() :].strip()
    if result == discussions.AGREED:
        note = after.lstrip(":-– ").strip()
        # What a form sends when an owner or date was filled in for an agreed topic: "agreed school by …: note".
        head, colon, _ = note.partition(":")
        first = head.split()[0].casefold() if head.split() else ""
        if colon and (first in (*_SCHOOL_WORDS, *_ECC_WORDS) or _BY.search(f" {head} ")):
            message = md("An agreed topic has no owner or due date: choose *follow up* for an action.")
            return [refuse(message, field_errors={"result": message})]
        await discussions.record_outcome(
            t.session, held, topic=topic.id, result=result, note=note, by=t.actor, now=t.now
        )
        return [
            say(f"Recorded for {eoi.ref}: {topic.title} agreed{': ' + note if note else ''}."),
            await _agenda_reply(t, eoi, school, held),
        ]
    return await _follow_up(t, eoi, school, held, topic, after)


async def _follow_up(
    t: OfficerTurn, eoi: EOI, school: School, held: Discussion, topic: Topic, after: str
) -> list[Reply]:
    example = md("`outcome {} {} follow up school by 15 January: send the draft budget`", eoi.ref, topic.id)
    head, colon, what = after.partition(":")
    what = " ".join(what.split()) if colon else ""
    padded = f" {head} "  # so "by 15 January" with no owner before it is still found
    by = _BY.search(padded)
    owner_words = padded[: by.start()].strip() if by else head.strip()
    due_words = padded[by.end() :].strip() if by else ""
    problems: dict[str, str | Text] = {}
    owner, officer_key, owner_name = "", "", ""
    folded = " ".join(owner_words.casefold().split())
    if folded in _SCHOOL_WORDS:
        owner = discussions.SCHOOL
    elif folded in _ECC_WORDS:
        owner, officer_key, owner_name = discussions.ECC, t.actor, t.person.display_name or "you"
    elif folded:
        named = await _officer_named(t.session, owner_words)
        if named is None:
            problems["owner"] = md(
                "“{}” isn't the school or an ECC officer I know (see `officer list`).", owner_words[:60]
            )
        else:
            owner, officer_key, owner_name = discussions.ECC, people.key_of(named), named.display_name
    else:
        problems["owner"] = "Say who does it: the school, or ECC (you), or an officer by name."
    due: date | None = None
    if not due_words:
        problems["due"] = md("Say by when, e.g. `by 15 January` or `by Friday week`.")
    else:
        reading = read_due_date(due_words, today=t.now.astimezone(LONDON).date())
        if reading.doubt:
            problems["due"] = md("Do you mean {}? Say the date in full, e.g. `by {}`.", reading.doubt, reading.doubt)
        elif reading.day is None:
            problems["due"] = reading.problem or md(
                "I couldn't read “{}” as a date, e.g. `by 15 January`.", due_words[:60]
            )
        else:
            due = reading.day
    if len(what) < 3:
        problems["note"] = "Say what is to be done, after a colon."
    if problems:
        said = rich(*(part for problem in problems.values() for part in (problem, " ")))
        return [refuse(md("{}For example: {}.", said, example), field_errors=problems)]
    assert due is not None
    _, follow_up = await discussions.record_outcome(
        t.session,
        held,
        topic=topic.id,
        result=discussions.FOLLOW_UP,
        note=what,
        by=t.actor,
        now=t.now,
        follow_up=(owner, officer_key, due),
    )
    assert follow_up is not None
    who = school.name if owner == discussions.SCHOOL else f"ECC ({owner_name})"
    return [
        say(
            md(
                "Recorded for {}: {} to follow up: {} ({}, due {}). {}I'll remind {} {}.",
                eoi.ref,
                topic.title,
                what,
                who,
                format_date(due),
                md("The school sees it in *status*; ") if owner == discussions.SCHOOL else "",
                "them" if owner == discussions.SCHOOL else "the officers",
                reminder_promise(due, t.now.astimezone(LONDON).date()),
            )
        ),
        await _agenda_reply(t, eoi, school, held),
    ]


def _topic_in(text: str) -> tuple[Topic | None, str]:
    """The agenda topic at the start of `text` (its number, id, title or an alias), and what follows."""
    found = agenda()
    first, _, after = text.partition(" ")
    if first.isdecimal():
        return found.topic(first), after.strip()
    folded = text.casefold()
    for name in found.names():
        if folded == name or folded.startswith(name + " ") or folded.startswith(name + ":"):
            return found.topic(name), text[len(name) :].strip()
    return None, text


async def _agenda_reply(t: OfficerTurn, eoi: EOI, school: School, held: Discussion) -> Reply:
    recorded = await discussions.outcomes(t.session, held.id)
    facts = []
    for n, topic in enumerate(agenda().topics, 1):
        found = recorded.get(topic.id)
        said = f"{found.result}{': ' + found.note if found.note else ''}" if found else "not recorded yet"
        # Named by topic (its id, as typed in `outcome REF TOPIC`): the console lists these buttons apart from the
        # lines they sit beside on Slack and Teams, and a phone shows a short label whole.
        record = Choice(
            f"Record {topic.id}",
            OpenForm("outcome", f"{eoi.ref} {topic.id}"),
            form=topic_form(eoi.ref or "", topic),
        )
        facts.append(Fact(f"{n}. {topic.title}", said, change=record))
    lines = await follow_up_lines(t.session, eoi, today=t.now.astimezone(LONDON).date(), for_school=False)
    if lines:
        facts.append(Fact("Follow-ups", "\n".join(lines)))
    left = len(agenda().topics) - len(recorded)
    return Reply(
        kind="summary",
        title=f"{eoi.ref}: discussion outcomes",
        text=md(
            "{}, discussed {}. {}Type it, e.g. {}, or press Record.",
            school.name,
            format_datetime(held.starts_at),
            f"{left} topic{'s' if left != 1 else ''} still to record. " if left else "Every topic is recorded. ",
            EXAMPLES,
        ),
        facts=facts,
        choices=[Choice("Show", Command(f"show {eoi.ref}"))],
    )


@handles("follow-up", SHARED)
async def follow_up_command(t: CommandTurn) -> list[Reply]:
    """`follow-up REF N done [note]`: follow-up N (as `show` and `status` number them) is done. An officer marks
    any; a school's staff mark their school's own (REF may be left out when one EOI has them), and ECC is told."""
    session, person, school, now, rest = t.session, t.person, t.school, t.now, t.rest
    is_officer = person.role == people.OFFICER
    actor = people.key_of(person)
    named = await references.leading_eoi(session, rest.split(), "follow-up", by_name=is_officer)
    if isinstance(named, Reply):
        return [named]
    eoi, words = named
    if eoi is None and school is not None and not is_officer:
        waiting = await discussions.eois_with_open_follow_ups(session, school.urn)
        eoi = waiting[0] if len(waiting) == 1 else None
    example = md("`follow-up EOI-2627A-001 2 done`")
    if eoi is None:
        given = rest.split()[0] if rest.split() else ""
        found = md("There is no EOI “{}”. ", given[:40]) if given.upper().startswith("EOI-") else ""
        return [refuse(md("{}Which EOI's follow-up? For example: {}.", found, example))]
    if not is_officer and eoi.school_urn not in {s.urn for s in await people.schools_of(session, person)}:
        audit.record(session, at=now, actor=actor, action="refused", note=f"follow-up {eoi.ref}: not their school")
        return [refuse(f"{eoi.ref} isn't your school's EOI.")]
    listed = await discussions.follow_ups(session, eoi.id)
    number = words[0] if words else ""
    if not number.isdecimal() or not 1 <= int(number) <= len(listed) or words[1:2] != ["done"]:
        if not listed:
            return [refuse(f"{eoi.ref} has no follow-ups.")]
        where = md("`show`") if is_officer else md("*status*")
        return [
            refuse(
                md(
                    "Say which follow-up of {} (1 to {}, as {} numbers them) is done: {}.",
                    eoi.ref,
                    len(listed),
                    where,
                    example,
                )
            )
        ]
    chosen = listed[int(number) - 1]
    if chosen.status == discussions.DONE:
        return [say(f"Follow-up {number} of {eoi.ref} is already done.")]
    if not is_officer and chosen.owner != discussions.SCHOOL:
        return [refuse(f"Follow-up {number} of {eoi.ref} is ECC's to do; you'll see it marked done in status.")]
    discussions.mark_done(session, chosen, by=actor, now=now, note=" ".join(words[2:]))
    if not is_officer:
        owned = await session.get(School, eoi.school_urn)
        await notices.to_officers(
            session,
            kind="follow-up done",
            now=now,
            eoi_id=eoi.id,
            school_urn=eoi.school_urn,
            body=say(
                f"{owned.name if owned else eoi.school_urn} marked follow-up {number} of {eoi.ref} done: "
                f"{chosen.what}.",
                kind="notice",
                choices=[Choice("Show", Command(f"show {eoi.ref}"))],
            ).to_dict(),
        )
    told = "" if is_officer else " ECC has been told."
    return [say(f"Done: follow-up {number} of {eoi.ref} ({chosen.what}).{told}")]


async def school_done_choices(session: AsyncSession, eoi: EOI) -> list[Choice]:
    """A Done button for each of the school's own open follow-ups, numbered as `status` lists them."""
    return [
        Choice(f"Done: follow-up {n}", Command(f"follow-up {eoi.ref} {n} done"), style="primary")
        for n, action_ in enumerate(await discussions.follow_ups(session, eoi.id), 1)
        if action_.owner == discussions.SCHOOL and action_.status == discussions.OPEN
    ]


def reminder(action_: FollowUp, eoi: EOI, school: School, *, owner_name: str, late: bool) -> Reply:
    """What the scheduler sends: to the school for its own follow-up, to officers for ECC's (and for any late)."""
    due = format_date(action_.due_on)
    topic = agenda().topic(action_.topic)
    about = topic.title if topic else action_.topic
    if late:
        who = school.name if action_.owner == discussions.SCHOOL else f"ECC ({owner_name or 'an officer'})"
        text = f"Overdue: {who} was to {action_.what} by {due} ({eoi.ref}, {about})."
    elif action_.owner == discussions.SCHOOL:
        text = md(
            "A reminder from ECC: after the {} discussion, {} agreed to {} by *{}* ({}). *status* shows your "
            "actions, each with a Done button to press when it's done.",
            eoi.ref,
            school.name,
            action_.what,
            due,
            about,
        )
    else:
        text = md(
            "Reminder for {}: {} by {}, for {}'s {} ({}). `follow-up {} N done` when it is.",
            owner_name or "ECC",
            action_.what,
            due,
            school.name,
            eoi.ref,
            about,
            eoi.ref,
        )
    return Reply(
        kind="notice",
        title=f"{eoi.ref}: follow-up {'overdue' if late else 'due ' + due}",
        text=text,
        choices=[]
        if action_.owner == discussions.SCHOOL and not late
        else [Choice("Show", Command(f"show {eoi.ref}"))],
    )
