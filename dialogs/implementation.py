"""Support through implementation, in words: an approved EOI's plan (storage/implementation.py), each side's
next steps, `done REF MILESTONE` (typed, or the Mark done button) by the milestone's owner or an officer,
`list implementing` (the portfolio, late milestones first), and the scheduler's reminders and slips."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import references
from dialogs.actions import Command
from dialogs.dates import format_date
from dialogs.glossary import PROVISION_NAMES
from dialogs.lifecycle_words import refusal
from dialogs.replies import Choice, Fact, Reply, refuse, say
from dialogs.rich import lines_of, md, text_of
from storage import audit, eois, implementation, notices, people
from storage.implementation import ECC_OWNS, SCHOOL_OWNS
from storage.lifecycle import APPROVED, OFFICER, SCHOOL
from storage.models import EOI, Milestone, Person, School
from storage.windows import LONDON

OWNER_NAMES = {SCHOOL_OWNS: "school", ECC_OWNS: "ECC"}
NEXT_SHOWN = 3  # next steps shown per side in `status` (the whole plan is in `show`)


def offer_words(eoi: EOI) -> str:
    places = eoi.answers.get("places")
    parts = [PROVISION_NAMES.get(eoi.offer, "provision"), eoi.primary_need, f"{places} places" if places else ""]
    return ", ".join(p for p in parts if p)


def _due(milestone: Milestone) -> str:
    return format_date(milestone.due_at.astimezone(LONDON).date())


def milestone_line(milestone: Milestone, now: datetime) -> str:
    owner = OWNER_NAMES[milestone.owner]
    if milestone.done_at is not None:
        state = f"done {format_date(milestone.done_at.astimezone(LONDON).date())}"
    elif implementation.is_late(milestone, now):
        state = f"LATE: was due {_due(milestone)}"
    else:
        state = f"due {_due(milestone)}"
    return f"{milestone.position}. {milestone.title} ({owner}): {state}"


async def plan_facts(session: AsyncSession, eoi: EOI, now: datetime) -> list[Fact]:
    milestones = await implementation.plan_of(session, eoi.id)
    if not milestones:
        return []
    return [Fact("Implementation plan", "\n".join(milestone_line(m, now) for m in milestones))]


def _waiting(milestones: list[Milestone], owner: str | None = None) -> list[Milestone]:
    return [m for m in milestones if m.done_at is None and (owner is None or m.owner == owner)]


def _done_choice(eoi: EOI, milestone: Milestone) -> Choice:
    return Choice(f"Done: {milestone.title}", Command(f"done {eoi.ref} {milestone.key}"), style="primary")


async def done_choices(session: AsyncSession, eoi: EOI, *, owner: str | None) -> list[Choice]:
    """Mark done buttons for the next milestones `owner` owns (None: either side, for officers)."""
    waiting = _waiting(await implementation.plan_of(session, eoi.id), owner)
    return [_done_choice(eoi, m) for m in waiting[:NEXT_SHOWN]] if eoi.status == APPROVED else []


async def next_steps_facts(session: AsyncSession, eoi: EOI, now: datetime, *, for_school: bool) -> list[Fact]:
    """For `status`: the school's next steps first, then ECC's (for the school), or ECC's then the school's."""
    milestones = await implementation.plan_of(session, eoi.id)
    if not milestones or eoi.status != APPROVED:
        return []
    order = (SCHOOL_OWNS, ECC_OWNS) if for_school else (ECC_OWNS, SCHOOL_OWNS)
    facts = []
    for owner in order:
        waiting = _waiting(milestones, owner)[:NEXT_SHOWN]
        label = (
            ("Your next steps" if for_school else "The school's next steps")
            if owner == SCHOOL_OWNS
            else ("ECC's next steps" if for_school else "Our (ECC's) next steps")
        )
        if waiting:
            facts.append(Fact(label, "\n".join(milestone_line(m, now) for m in waiting)))
    return facts


async def done_command(
    session: AsyncSession, person: Person, school: School | None, now: datetime, rest: str
) -> list[Reply]:
    """`done REF MILESTONE` (a school may leave out REF for its one approved EOI): its owner, or an officer for
    either side, marks it done; the other side is told. The last (first pupils) opens the provision."""
    is_officer = person.role == people.OFFICER
    named = await references.leading_eoi(session, rest.split(), "done", by_name=is_officer)
    if isinstance(named, Reply):
        return [named]
    eoi, words = named
    if eoi is None and school is not None and not is_officer:
        eoi = next(iter(await implementation.approved_of(session, school.urn)), None)
    example = "done EOI-2627A-001 staffing"
    if eoi is None:
        return [refuse(md("Which EOI's milestone? For example `{}` (or the milestone's number in the plan).", example))]
    actor = f"{person.platform}:{person.user_id}"
    if not is_officer:
        schools = {s.urn for s in await people.schools_of(session, person)}
        if eoi.school_urn not in schools:
            audit.record(session, at=now, actor=actor, action="refused", note=f"done {eoi.ref}: not their school")
            return [refuse(f"{eoi.ref} isn't your school's EOI.")]
    owned = await session.get(School, eoi.school_urn)
    assert owned is not None
    milestones = await implementation.plan_of(session, eoi.id)
    if not milestones:
        return [refuse(f"{eoi.ref} has no implementation plan: it is {eoi.status}; a plan starts when it is approved.")]
    milestone = implementation.find(milestones, " ".join(words))
    if milestone is None:
        listed = lines_of(md("{}. {} (`{}`)", m.position, m.title, m.key) for m in milestones)
        return [
            refuse(md("Which milestone of {}? Name it by number or word, e.g. `{}`:\n{}", eoi.ref, example, listed))
        ]
    try:
        done = await implementation.mark_done(
            session, eoi, milestone, by=OFFICER if is_officer else SCHOOL, actor=actor, now=now
        )
    except implementation.NotTheirs:
        return [
            refuse(md("“{}” is ECC's to mark done; ECC will do it, and you'll see it in `status`.", milestone.title))
        ]
    except eois.Refused as refused:
        return [refuse(refusal(refused))]
    if done.already:
        return [say(f"“{milestone.title}” was already marked done for {eoi.ref}.")]
    who = person.display_name or ("ECC" if is_officer else owned.name)
    remaining = _waiting(await implementation.plan_of(session, eoi.id))
    if done.opened:
        news = md("{}'s {} for {} is *open*: first pupils. Thank you, all.", owned.name, offer_words(eoi), eoi.ref)
    else:
        news = text_of(f"{who} marked “{milestone.title}” done for {eoi.ref} ({owned.name}).")
        if remaining:
            news += f" Next: {remaining[0].title} ({OWNER_NAMES[remaining[0].owner]}), due {_due(remaining[0])}."
    title = f"{eoi.ref}: {'open' if done.opened else milestone.title + ' done'}"
    # The other side hears; the provision opening, everyone (the school's channel and all its staff too).
    if is_officer or done.opened:
        notices.to_school(
            session,
            school_urn=owned.urn,
            eoi_id=eoi.id,
            kind="milestone done",
            now=now,
            body=Reply(
                kind="notice", title=title, text=news, choices=await done_choices(session, eoi, owner=SCHOOL_OWNS)
            ).to_dict(),
        )
    told = f"{owned.name} has been told." if is_officer else "ECC has been told."
    if not is_officer or done.opened:
        notices.to_officers(
            session,
            kind="milestone done",
            now=now,
            eoi_id=eoi.id,
            school_urn=owned.urn,
            body=say(news, kind="notice", choices=[Choice("Show", Command(f"show {eoi.ref}"))]).to_dict(),
        )
    mine = await done_choices(session, eoi, owner=None if is_officer else SCHOOL_OWNS)
    return [
        say(
            f"Marked done: {milestone.title} ({eoi.ref}). {told}" + (" The provision is open." if done.opened else ""),
            choices=mine,
        )
    ]


async def implementing_command(session: AsyncSession, now: datetime) -> list[Reply]:
    """`list implementing`: every approved EOI's plan, late milestones first."""
    found = await implementation.implementing(session, now)
    if not found:
        return [say("No approved EOI is being implemented just now.", kind="list")]
    facts = []
    late_total = 0
    for eoi, school, milestones in found:
        late = [m for m in milestones if implementation.is_late(m, now)]
        late_total += len(late)
        waiting = _waiting(milestones)
        done = len(milestones) - len(waiting)
        shown = late or waiting[:1]
        value = f"{school.name} ({school.district}) · {done} of {len(milestones)} done\n" + "\n".join(
            milestone_line(m, now) for m in shown
        )
        facts.append(Fact(eoi.ref or "", value, Choice("Show", Command(f"show {eoi.ref}"))))
    text = (
        f"{len(found)} EOI{'s' if len(found) != 1 else ''} being implemented; {late_total} milestone"
        + ("s" if late_total != 1 else "")
        + " late (listed first)."
    )
    return [Reply(text=text, kind="list", title="Implementing", facts=facts)]


async def officer_next_steps(session: AsyncSession, now: datetime) -> list[Reply]:
    """An officer's `status`: ECC's own milestones not yet done, across every plan, soonest first."""
    mine = []
    for eoi, school, milestones in await implementation.implementing(session, now):
        mine += [(m, eoi, school) for m in _waiting(milestones, ECC_OWNS)]
    if not mine:
        return [say(md("ECC has no implementation milestones waiting. `list implementing` shows every plan."))]
    mine.sort(key=lambda item: item[0].due_at)
    facts = [
        Fact(eoi.ref or "", f"{school.name}: {milestone_line(m, now)}", _done_choice(eoi, m))
        for m, eoi, school in mine[:20]
    ]
    return [
        Reply(
            text="ECC's next steps in implementation, soonest first.", kind="list", title="Our next steps", facts=facts
        )
    ]


def reminder(milestone: Milestone, eoi: EOI, school: School) -> Reply:
    owner = "your school" if milestone.owner == SCHOOL_OWNS else "ECC"
    return Reply(
        kind="notice",
        title=f"{eoi.ref}: {milestone.title} is due {_due(milestone)}",
        text=(
            f"A reminder for {owner}: “{milestone.title}” for {school.name}'s {offer_words(eoi)} ({eoi.ref}) is due "
            f"on {_due(milestone)}. When it's done, say so here."
        ),
        choices=[_done_choice(eoi, milestone)],
    )


def slipped(milestone: Milestone, eoi: EOI, school: School) -> Reply:
    return Reply(
        kind="notice",
        title=f"{eoi.ref}: {milestone.title} is late",
        text=md(
            "“{}” for {}'s {} ({}) was due on {} and isn't marked done ({} owns it). `list implementing` shows every "
            "late milestone.",
            milestone.title,
            school.name,
            offer_words(eoi),
            eoi.ref,
            _due(milestone),
            OWNER_NAMES[milestone.owner],
        ),
        choices=[Choice("Show", Command(f"show {eoi.ref}")), _done_choice(eoi, milestone)],
    )
