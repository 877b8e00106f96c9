"""Support through implementation, in words: an approved EOI's plan (storage/implementation.py), each side's
next steps, `done REF MILESTONE [confirm | undo]` (typed, or a Done button, offered only where the plan's rule lets
that person mark it now), `reopen` of an opened provision, `list implementing` (the portfolio, late milestones
first), and the scheduler's reminders and slips."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import references
from dialogs.actions import Command
from dialogs.commands import OFFICER as OFFICERS_ONLY
from dialogs.commands import SHARED
from dialogs.dates import format_date
from dialogs.glossary import PROVISION_NAMES
from dialogs.lifecycle_words import refusal
from dialogs.officer_turn import CommandTurn
from dialogs.registry import handles
from dialogs.replies import Choice, Fact, Reply, refuse, say
from dialogs.rich import Text, lines_of, md, rich, text_of
from dialogs.telling import tell
from storage import audit, eois, implementation, notices, panel, people
from storage.implementation import ECC_OWNS, SCHOOL_OWNS
from storage.lifecycle import APPROVED, OFFICER, OPENED, REOPEN_DAYS, SCHOOL
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
    if milestone.owner == SCHOOL_OWNS and not implementation.rule_of(milestone).may_mark(SCHOOL):
        owner += "; ECC marks it done"
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
    plan_type, _ = implementation.plan_type_of(eoi, await session.get(School, eoi.school_urn))
    label = f"Implementation plan ({implementation.template().described(plan_type)})"
    return [Fact(label, "\n".join(milestone_line(m, now) for m in milestones))]


def flags(planned: implementation.Planned, eoi: EOI) -> Text:
    """What an officer must know of a plan just made: milestones already past their date (late from the start, not
    moved), a school type the register doesn't give, and dates that rest on an estimate."""
    said: list[Text] = []
    if planned.past:
        late = "; ".join(f"{m.title} (was due {_due(m)})" for m in planned.past)
        said.append(
            md(
                "⚠ Already past its date at approval, so late from the start: {}. Agree new dates with those "
                "concerned (and, for the place change, the DfE).",
                late,
            )
        )
    if not planned.from_register:
        said.append(
            md(
                "⚠ The register doesn't say what kind of school this is, so the plan is {}: `plan {} academy` "
                "if it is an academy or free school.",
                implementation.template().described(planned.plan_type),
                eoi.ref,
            )
        )
    said += [md("⚠ Note: {}.", note) for note in planned.estimated]
    return lines_of(said) if said else text_of("")


@handles("plan", OFFICERS_ONLY)
async def plan_command(t: CommandTurn) -> list[Reply]:
    """`plan REF maintained|academy`: the plan an EOI follows, whatever the register says; an approved EOI's plan
    is made again (milestones done stay, the other plan's not done go), and the school is told."""
    ref, _, wanted = t.rest.strip().partition(" ")
    found = await references.eoi_named(t.session, ref, "plan", wanted)
    if isinstance(found, Reply):
        return [found]
    eoi, school = found
    plan_type = wanted.strip().casefold().replace("academy or free school", "academy")
    plan_type = {"free school": "academy", "free_school": "academy", "trust": "academy"}.get(plan_type, plan_type)
    if plan_type not in implementation.PLAN_TYPES:
        return [
            refuse(md("Say which: `plan {} maintained` or `plan {} academy`. Nothing has changed.", eoi.ref, eoi.ref))
        ]
    before, _ = implementation.plan_type_of(eoi, school)
    eoi.plan_type = plan_type
    audit.record(t.session, at=t.now, actor=t.actor, action="plan", eoi_id=eoi.id, note=f"{before} -> {plan_type}")
    described = implementation.template().described(plan_type)
    approved_at = await _approved_at(t.session, eoi)
    if approved_at is None or eoi.status != APPROVED:
        return [say(md("{} will follow {} once approved.", eoi.ref, described))]
    planned = await implementation.make_plan(t.session, eoi, approved_at=approved_at, school=school, now=t.now)
    facts = await plan_facts(t.session, eoi, t.now)
    news = Reply(
        kind="notice",
        title=f"{eoi.ref}: your implementation plan",
        text=md("ECC has set {}'s implementation plan to {}. `status` shows your next steps.", school.name, described),
        facts=facts,
    )
    await notices.to_school(
        t.session, school_urn=school.urn, eoi_id=eoi.id, kind="plan", now=t.now, body=news.to_dict()
    )
    said = md("{} now follows {}; {} has been told.", eoi.ref, described, school.name)
    warned = flags(planned, eoi)
    return [say(rich(said, "\n", warned) if warned.plain else said, facts=facts)]


async def _approved_at(session: AsyncSession, eoi: EOI) -> datetime | None:
    """When the decision that stands approved it (the plan's dates count from it)."""
    decided = (await panel.latest_decisions(session, [eoi.id])).get(eoi.id)
    return decided.decided_at if decided is not None else None


def _waiting(milestones: list[Milestone], owner: str | None = None) -> list[Milestone]:
    return [m for m in milestones if m.done_at is None and (owner is None or m.owner == owner)]


def _done_choice(eoi: EOI, milestone: Milestone) -> Choice:
    return Choice(f"Done: {milestone.title}", Command(f"done {eoi.ref} {milestone.key}"), style="primary")


async def _markable(
    session: AsyncSession, eoi: EOI, milestones: list[Milestone], milestone: Milestone, by: str, now: datetime
) -> bool:
    """Whether `by` may mark it done now: the rule `done` itself checks (storage.implementation.refused)."""
    return (
        milestone.done_at is None
        and await implementation.refused(session, eoi, milestones, milestone, by=by, now=now) is None
    )


async def done_choices(session: AsyncSession, eoi: EOI, *, by: str, now: datetime) -> list[Choice]:
    """Done buttons for the next milestones `by` (SCHOOL or OFFICER) may mark done now, and no others."""
    milestones = await implementation.plan_of(session, eoi.id)
    found = [m for m in milestones if await _markable(session, eoi, milestones, m, by, now)]
    return [_done_choice(eoi, m) for m in found[:NEXT_SHOWN]]


async def next_steps_facts(session: AsyncSession, eoi: EOI, now: datetime, *, for_school: bool) -> list[Fact]:
    """For `status`: the school's next steps first, then ECC's (for the school), or ECC's then the school's."""
    milestones = await implementation.plan_of(session, eoi.id)
    if not milestones or eoi.status != eois.APPROVED:
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


def _titles(milestones: list[Milestone]) -> str:
    named = [f"{m.title} ({OWNER_NAMES[m.owner]})" for m in milestones]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def refused_words(problem: eois.Refused, eoi: EOI) -> str | Text:
    """Why a milestone can't be marked done (or undone) now, and what can happen instead."""
    match problem:
        case implementation.NotTheirs(milestone=m, undo=True):
            return md("Only an ECC officer can undo a milestone; ask ECC if “{}” was marked done by mistake.", m.title)
        case implementation.NotTheirs(milestone=m) if implementation.rule_of(m).last:
            return md(
                "“{}” opens the provision, so an ECC officer marks it done, once every other milestone is; tell ECC "
                "when it has happened, and you'll see it in `status`.",
                m.title,
            )
        case implementation.NotTheirs(milestone=m):
            return md("“{}” is ECC's to mark done; ECC will do it, and you'll see it in `status`.", m.title)
        case implementation.Waiting(milestone=m, waiting=waiting):
            return f"“{m.title}” can't be marked done for {eoi.ref} yet: it waits for {_titles(waiting)}."
        case implementation.StillNeeded(milestone=m, opened=True):
            return md(
                "{} is open, so “{}” stands. If it opened by mistake, `reopen {} REASON` (within {} days of the "
                "opening) takes the opening back first.",
                eoi.ref,
                m.title,
                eoi.ref,
                REOPEN_DAYS,
            )
        case implementation.StillNeeded(milestone=m, needed_by=needed_by):
            which = (
                "which comes after it, is done: undo that"
                if len(needed_by) == 1
                else "which come after it, are done: undo those"
            )
            return f"“{m.title}” can't be undone while {_titles(needed_by)}, {which} first."
    return refusal(problem)


def _confirm(eoi: EOI, school: School, milestone: Milestone) -> Reply:
    """The question before a milestone whose row asks for a confirmation (first pupils opens the provision)."""
    return Reply(
        text=md(
            "Mark “{}” done for {} ({})? This *opens* the provision: the school and officers are told it is open, "
            "and the report counts its places as opened.",
            milestone.title,
            eoi.ref,
            school.name,
        ),
        kind="question",
        choices=[
            Choice("Yes, it's open", Command(f"done {eoi.ref} {milestone.key} confirm"), style="primary"),
            Choice("Not yet", Command(f"show {eoi.ref}")),
        ],
    )


@handles("done", SHARED)
async def done_command(t: CommandTurn) -> list[Reply]:
    """`done REF MILESTONE` (a school may leave out REF for its one approved EOI): marked done as the plan's row
    allows, the other side told. The last (first pupils) opens the provision once confirmed (`... confirm`).
    `done REF MILESTONE undo`: an officer takes one back, and everyone is told."""
    session, person, school, now, rest = t.session, t.person, t.school, t.now, t.rest
    is_officer = person.role == people.OFFICER
    words = rest.split()
    last_word = words[-1].casefold() if words else ""
    undoing, confirmed = last_word == "undo", last_word == "confirm"
    if undoing or confirmed:
        words = words[:-1]
    named = await references.leading_eoi(session, words, "done", by_name=is_officer)
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
    by = OFFICER if is_officer else SCHOOL
    try:
        if undoing:
            done = await implementation.undo(session, eoi, milestone, by=by, actor=actor, now=now)
        else:
            done = await implementation.mark_done(
                session, eoi, milestone, by=by, actor=actor, now=now, confirmed=confirmed
            )
    except implementation.Unconfirmed:
        return [_confirm(eoi, owned, milestone)]
    except eois.Refused as problem:
        return [refuse(refused_words(problem, eoi))]
    if undoing:
        return await _undone(session, person, eoi, owned, done, now)
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
    # The other side hears; the provision opening (LIFE's "open"), everyone its row tells (dialogs.telling).
    for_school = Reply(
        kind="notice", title=title, text=news, choices=await done_choices(session, eoi, by=SCHOOL, now=now)
    )
    for_officers = say(news, kind="notice", choices=[Choice("Show", Command(f"show {eoi.ref}"))])
    told = f"{owned.name} has been told." if is_officer else "ECC has been told."
    if done.opened:
        school_hears, officers_hear = [("milestone done", for_school)], [("milestone done", for_officers)]
        await tell(
            session, "open", APPROVED, eoi, owned, now=now, school_hears=school_hears, officers_hear=officers_hear
        )
    elif is_officer:
        await notices.to_school(
            session, school_urn=owned.urn, eoi_id=eoi.id, kind="milestone done", now=now, body=for_school.to_dict()
        )
    else:
        await notices.to_officers(
            session, kind="milestone done", now=now, eoi_id=eoi.id, school_urn=owned.urn, body=for_officers.to_dict()
        )
    mine = await done_choices(session, eoi, by=by, now=now)
    return [
        say(
            f"Marked done: {milestone.title} ({eoi.ref}). {told}" + (" The provision is open." if done.opened else ""),
            choices=mine,
        )
    ]


async def _tell_everyone(
    session: AsyncSession, eoi: EOI, school: School, kind: str, now: datetime, body: Reply
) -> None:
    """A milestone taken back: told to all who may have heard it was done, the school and the officers."""
    await notices.to_school(session, school_urn=school.urn, eoi_id=eoi.id, kind=kind, now=now, body=body.to_dict())
    await notices.to_officers(session, kind=kind, now=now, eoi_id=eoi.id, school_urn=school.urn, body=body.to_dict())


async def _undone(
    session: AsyncSession, person: Person, eoi: EOI, school: School, done: implementation.Done, now: datetime
) -> list[Reply]:
    milestone = done.milestone
    if done.already:
        return [say(f"“{milestone.title}” isn't marked done for {eoi.ref}, so there is nothing to undo.")]
    who = person.display_name or "ECC"
    news = f"{who} took back “{milestone.title}” for {eoi.ref} ({school.name}): it is not done after all."
    await _tell_everyone(
        session,
        eoi,
        school,
        "milestone undone",
        now,
        Reply(kind="notice", title=f"{eoi.ref}: {milestone.title} not done", text=text_of(news)),
    )
    return [
        say(
            f"Undone: {milestone.title} ({eoi.ref}) is not done. {school.name} and the officers have been told.",
            choices=await done_choices(session, eoi, by=OFFICER, now=now),
        )
    ]


async def reopen_opened(
    session: AsyncSession, eoi: EOI, school: School, *, actor: str, now: datetime, reason: str
) -> list[Reply]:
    """`reopen REF REASON` on an opened provision (LIFE's reopen from opened, within the reopen period): approved
    again, first pupils not done; the school and the officers, who were told it opened, are told."""
    try:
        last = await implementation.reopen_opened(session, eoi, by=OFFICER, actor=actor, now=now, note=reason)
    except eois.Refused as problem:
        return [refuse(refusal(problem))]
    news = md(
        "ECC has reopened {}'s {} ({}): it is not open after all, and is *{}* again; its implementation plan "
        "carries on, with “{}” still to do.\nWhy: {}",
        school.name,
        offer_words(eoi),
        eoi.ref,
        eoi.status,
        last.title,
        reason,
    )
    told = [("reopened", Reply(kind="notice", title=f"{eoi.ref}: reopened", text=news))]
    await tell(session, "reopen", OPENED, eoi, school, now=now, school_hears=told, officers_hear=told)
    return [
        say(
            md(
                "Reopened: {} is {} again (it was opened); “{}” is not done. {} and the officers have been told.",
                eoi.ref,
                eoi.status,
                last.title,
                school.name,
            ),
            choices=await done_choices(session, eoi, by=OFFICER, now=now),
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


def _ecc_marks(milestone: Milestone) -> bool:
    """ECC's to do: its own milestones, and those only an officer may mark (first pupils)."""
    return milestone.owner == ECC_OWNS or not implementation.rule_of(milestone).may_mark(SCHOOL)


async def officer_next_steps(session: AsyncSession, now: datetime) -> list[Reply]:
    """An officer's `status`: the milestones ECC marks not yet done, across every plan, soonest first, each with
    its Done button when it can be marked now (else what it waits for)."""
    mine = []
    for eoi, school, milestones in await implementation.implementing(session, now):
        mine += [(m, eoi, school, milestones) for m in _waiting(milestones) if _ecc_marks(m)]
    if not mine:
        return [say(md("ECC has no implementation milestones waiting. `list implementing` shows every plan."))]
    mine.sort(key=lambda item: item[0].due_at)
    facts = []
    for m, eoi, school, milestones in mine[:20]:
        line = f"{school.name}: {milestone_line(m, now)}"
        waiting = implementation.waiting_for(milestones, m)
        if waiting:
            line += f"; waits for {_titles(waiting)}"
        markable = await _markable(session, eoi, milestones, m, OFFICER, now)
        facts.append(Fact(eoi.ref or "", line, _done_choice(eoi, m) if markable else None))
    return [
        Reply(
            text="ECC's next steps in implementation, soonest first.", kind="list", title="Our next steps", facts=facts
        )
    ]


async def _reminder_choices(
    session: AsyncSession, milestone: Milestone, eoi: EOI, by: str, now: datetime
) -> tuple[list[Choice], str]:
    """A reminder's Done button, when `by` may press it now; else what stands in the way, in a sentence."""
    milestones = await implementation.plan_of(session, eoi.id)
    problem = await implementation.refused(session, eoi, milestones, milestone, by=by, now=now)
    if problem is None:
        return [_done_choice(eoi, milestone)], "When it's done, say so here."
    if isinstance(problem, implementation.NotTheirs):
        return [], "ECC marks it done when it has happened."
    if isinstance(problem, implementation.Waiting):
        return [], f"It waits for {_titles(problem.waiting)}."
    return [], ""


async def reminder(session: AsyncSession, milestone: Milestone, eoi: EOI, school: School, now: datetime) -> Reply:
    owner = "your school" if milestone.owner == SCHOOL_OWNS else "ECC"
    choices, then = await _reminder_choices(
        session, milestone, eoi, SCHOOL if milestone.owner == SCHOOL_OWNS else OFFICER, now
    )
    return Reply(
        kind="notice",
        title=f"{eoi.ref}: {milestone.title} is due {_due(milestone)}",
        text=(
            f"A reminder for {owner}: “{milestone.title}” for {school.name}'s {offer_words(eoi)} ({eoi.ref}) is due "
            f"on {_due(milestone)}. {then}"
        ).rstrip(),
        choices=choices,
    )


async def slipped(session: AsyncSession, milestone: Milestone, eoi: EOI, school: School, now: datetime) -> Reply:
    done, _ = await _reminder_choices(session, milestone, eoi, OFFICER, now)
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
        choices=[Choice("Show", Command(f"show {eoi.ref}")), *done],
    )
