"""Support through implementation: an approved EOI's plan of milestones, made from the template in
storage/implementation_plan.yaml (owners, who may mark each, what each waits for, due dates from the approval or
the opening date the school gave). A milestone is marked done only by whom its row allows and only once those it
comes after are done; the last one (first pupils) opens the provision (LIFE's "open"), after a confirmation. An
officer may undo a milestone, and reopen an opened provision (LIFE's "reopen") within the reopen period.

`refused` is the one rule behind marking a milestone done and behind offering its Done button."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, lifecycle, transitions
from storage.lifecycle import APPROVED, EITHER, OFFICER, OPENED, SCHOOL, Refused
from storage.models import EOI, Milestone, School
from storage.vocabulary import TYPE_GROUPS, academic_year_of
from storage.windows import LONDON

TEMPLATE = Path(__file__).with_name("implementation_plan.yaml")
SCHOOL_OWNS, ECC_OWNS = "school", "ecc"
# `who:` in the template, as the life table's kinds of person: who may mark a milestone done.
MARKED_BY = {"school": SCHOOL, "ecc": OFFICER, "either": EITHER}
MAINTAINED, ACADEMY = "maintained", "academy"
PLAN_TYPES = (MAINTAINED, ACADEMY)
# The register's type groups (storage.vocabulary.TYPE_GROUPS) whose new provision is an academy's significant change.
ACADEMY_GROUPS = ("academy", "free_school")
APPROVAL, OPENING, PLACE_CHANGE, RESIGNATION = "approval", "opening", "place_change", "resignation"
BASES = (APPROVAL, OPENING, PLACE_CHANGE, RESIGNATION)  # or another milestone's key
DUE_HOUR = time(9, 0)  # a milestone is due at the start of its day, London time
_MILESTONE_KEYS = {"key", "title", "owner", "who", "for", "when", "after", "due", "last", "confirm"}
_TEMPLATE_KEYS = {
    *("remind_days_before", "default_opening_days", "plans", "place_change_deadlines", "resignation_dates"),
    "milestones",
}


@dataclass(frozen=True)
class PlanStep:
    key: str
    title: str
    owner: str  # SCHOOL_OWNS | ECC_OWNS: responsible, and reminded
    base: str  # one of BASES, or the key of the milestone its date is counted from
    days: int
    last: bool = False
    who: str = EITHER  # storage.lifecycle SCHOOL | OFFICER | EITHER: who may mark it done
    after: tuple[str, ...] = ()  # keys of the milestones done before it
    confirm: bool = False  # marking it done is confirmed first
    plans: tuple[str, ...] = PLAN_TYPES  # the plans it is in
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (answer id, values): only when the answers say so

    def may_mark(self, by: str) -> bool:
        return self.who in (by, EITHER)

    def in_plan(self, plan_type: str, answers: dict[str, Any]) -> bool:
        return plan_type in self.plans and all(str(answers.get(q)) in values for q, values in self.when)


@dataclass(frozen=True)
class Template:
    steps: tuple[PlanStep, ...]
    remind_days_before: int
    default_opening_days: int
    plan_names: tuple[tuple[str, str], ...] = ()  # (type, what the plan is, in words)
    place_change_deadlines: tuple[tuple[str, date], ...] = ()  # (academic year, the DfE's deadline)
    resignation_dates: tuple[tuple[str, str], ...] = ()  # (MM-DD resign by, MM-DD start)

    def step(self, key: str) -> PlanStep | None:
        return next((s for s in self.steps if s.key == key), None)

    def before(self, key: str) -> set[str]:
        """Every milestone `key` waits for, directly or through another."""
        found: set[str] = set()
        frontier = [key]
        while frontier:
            here = self.step(frontier.pop())
            for earlier in here.after if here else ():
                if earlier not in found:
                    found.add(earlier)
                    frontier.append(earlier)
        return found

    def plan(self, plan_type: str, answers: dict[str, Any]) -> Template:
        """The milestones of one EOI's plan: those of its type that its answers call for, each waiting only for
        milestones in the same plan."""
        chosen = [s for s in self.steps if s.in_plan(plan_type, answers)]
        keys = {s.key for s in chosen}
        kept = tuple(replace(s, after=tuple(k for k in s.after if k in keys)) for s in chosen)
        return replace(self, steps=kept)

    def described(self, plan_type: str) -> str:
        return dict(self.plan_names).get(plan_type, plan_type)


def _checked(steps: list[PlanStep], name: str) -> None:
    """One plan as it will be made (its keys and `after` already checked for the whole table: _checked_keys_only)."""
    keys = {s.key for s in steps}
    if sum(s.last for s in steps) != 1:
        raise ValueError(f"{name}: exactly one milestone is `last: true`")
    plan = Template(tuple(steps), 0, 0)
    # A milestone that waits (through others) for itself could never be marked done.
    cycle = sorted(k for k in keys if k in plan.before(k))
    if cycle:
        raise ValueError(f"{name}: milestones {cycle} wait for each other")
    last = next(s for s in steps if s.last)
    opening = lifecycle.step("open", APPROVED)
    if plan.before(last.key) != keys - {last.key} or not last.confirm or opening is None or last.who != opening.by:
        raise ValueError(
            f"{name}: the last milestone ({last.key!r}) opens the provision: it comes after every other one, has "
            f"`confirm: true`, and is marked by whom storage.lifecycle's open step allows"
        )


def _checked_dates(steps: tuple[PlanStep, ...], name: str) -> None:
    """Each due date counts from a base or from a milestone of the same plan, never round in a circle."""
    by_key = {s.key: s for s in steps}
    for found in steps:
        seen, base = {found.key}, found.base
        while base not in BASES:
            if base not in by_key or base in seen:
                raise ValueError(
                    f"{name}: milestone {found.key!r} is due from {base!r}, which isn't a base or a "
                    f"milestone of the same plan counted from one"
                )
            seen.add(base)
            base = by_key[base].base


def _step(item: dict[str, Any], name: str) -> PlanStep:
    if set(item) - _MILESTONE_KEYS:
        raise ValueError(
            f"{name}: milestone {item.get('key')!r} has unknown keys {sorted(set(item) - _MILESTONE_KEYS)}"
        )
    due = item["due"]
    after = item.get("after") or []
    who = str(item.get("who", ""))
    plans = tuple(str(p) for p in item.get("for") or PLAN_TYPES)
    found = PlanStep(
        str(item["key"]),
        str(item["title"]),
        str(item["owner"]),
        str(due["from"]),
        int(due["days"]),
        bool(item.get("last", False)),
        MARKED_BY.get(who, ""),
        tuple(str(k) for k in (after if isinstance(after, list) else [after])),
        bool(item.get("confirm", False)),
        plans,
        tuple((str(q), tuple(str(v) for v in values)) for q, values in (item.get("when") or {}).items()),
    )
    if found.owner not in (SCHOOL_OWNS, ECC_OWNS) or len(found.key) > 40 or not found.who:
        raise ValueError(f"{name}: milestone {found.key!r} needs owner school|ecc and who {'|'.join(MARKED_BY)}")
    if set(plans) - set(PLAN_TYPES):
        raise ValueError(f"{name}: milestone {found.key!r} is for plans {sorted(set(plans) - set(PLAN_TYPES))}")
    return found


@cache
def template(path: Path = TEMPLATE) -> Template:
    """The plan template, checked as it is read: a bad template stops the service starting, not a decision. Every
    plan it can make (each type, with and without each `when`) is checked as a plan of its own."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if set(raw) - _TEMPLATE_KEYS:
        raise ValueError(f"{path.name}: unknown keys {sorted(set(raw) - _TEMPLATE_KEYS)}")
    steps = [_step(item, path.name) for item in raw["milestones"]]
    _checked_keys_only(steps, path.name)
    found = Template(
        tuple(steps),
        int(raw["remind_days_before"]),
        int(raw["default_opening_days"]),
        tuple((str(k), str(v)) for k, v in (raw.get("plans") or {}).items()),
        tuple((str(k), _a_date(v, path.name)) for k, v in (raw.get("place_change_deadlines") or {}).items()),
        tuple((str(r["by"]), str(r["starts"])) for r in raw.get("resignation_dates") or ()),
    )
    conditions = sorted({q for s in steps for q, _ in s.when})
    for plan_type in PLAN_TYPES:
        for met in range(2 ** len(conditions)):  # every combination of the conditions being met or not
            answers = {q: _meets(steps, q) if met >> i & 1 else "" for i, q in enumerate(conditions)}
            plan = found.plan(plan_type, answers)
            _checked(list(plan.steps), f"{path.name} ({plan_type} plan, {answers or 'as asked'})")
            _checked_dates(plan.steps, f"{path.name} ({plan_type} plan)")
    return found


def _checked_keys_only(steps: list[PlanStep], name: str) -> None:
    keys = [s.key for s in steps]
    if len(keys) != len(set(keys)):
        raise ValueError(f"{name}: milestone keys must differ")
    for found in steps:
        unknown = [k for k in found.after if k not in keys or k == found.key]
        if unknown:
            raise ValueError(f"{name}: milestone {found.key!r} comes after unknown milestones {unknown}")


def _meets(steps: list[PlanStep], question: str) -> str:
    """A value of `question` that meets the template's conditions on it (every condition names the same ones)."""
    return next(values[0] for s in steps for q, values in s.when if q == question)


def _a_date(value: Any, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise ValueError(f"{name}: {value!r} isn't a date like 2026-12-04") from error


def plan_type_of(eoi: EOI, school: School | None) -> tuple[str, bool]:
    """(maintained | academy, whether the register said so): an officer's choice first, then the register's type
    group; a school the register says nothing about follows the maintained school's plan (and officers are told)."""
    if eoi.plan_type in PLAN_TYPES:
        return eoi.plan_type, True
    group = TYPE_GROUPS.get(school.establishment_group, "") if school is not None else ""
    return (ACADEMY if group in ACADEMY_GROUPS else MAINTAINED), bool(group)


def _opening(eoi: EOI, approved: date, plan: Template) -> date:
    """The opening date the school gave (the "start" answer), or a stand-in when it gave none."""
    given = str(eoi.answers.get("start"))
    try:  # a month ("2027-09") opens on its 1st
        return date.fromisoformat(f"{given}-01" if len(given) == 7 else given)
    except ValueError:
        return approved + timedelta(days=plan.default_opening_days)


def place_change_deadline(opening: date, plan: Template) -> tuple[date, bool]:
    """The DfE's high-needs place-change deadline for the academic year `opening` falls in, and whether it is the
    published one (else the first Friday of December before that year, an estimate)."""
    year = academic_year_of(opening)
    published = dict(plan.place_change_deadlines).get(year)
    if published is not None:
        return published, True
    december = date(int(year[:4]) - 1, 12, 1)
    return december + timedelta(days=(4 - december.weekday()) % 7), False


def resignation_deadline(opening: date, plan: Template) -> date:
    """The last day a teacher may resign and still be free to start by `opening` (31 May for September)."""
    found = []
    for by, starts in plan.resignation_dates:
        for year in (opening.year - 1, opening.year):
            start = date.fromisoformat(f"{year}-{starts}")
            resign = date.fromisoformat(f"{year if by < starts else year - 1}-{by}")
            if start <= opening:
                found.append(resign)
    return max(found) if found else opening - timedelta(days=90)


def due_dates(eoi: EOI, approved_at: datetime, plan: Template | None = None) -> dict[str, datetime]:
    """Each milestone's due time: its day (from the approval, the opening date, the place-change deadline, the
    teachers' resignation date, or another milestone's, worked backwards) at 9am London time, as UTC. A day
    already past at approval stays as it is: `past_at_approval` names it."""
    plan = plan or template()
    approved = approved_at.astimezone(LONDON).date()
    opening = _opening(eoi, approved, plan)
    bases = {
        APPROVAL: approved,
        OPENING: opening,
        PLACE_CHANGE: place_change_deadline(opening, plan)[0],
        RESIGNATION: resignation_deadline(opening, plan),
    }
    days: dict[str, date] = {}

    def day_of(step: PlanStep) -> date:
        if step.key not in days:
            base = bases.get(step.base)
            counted = base if base is not None else day_of(plan.step(step.base))  # type: ignore[arg-type]
            days[step.key] = counted + timedelta(days=step.days)
        return days[step.key]

    return {s.key: datetime.combine(day_of(s), DUE_HOUR, tzinfo=LONDON) for s in plan.steps}


@dataclass(frozen=True)
class Planned:
    """An EOI's plan as made: its milestones, which plan, whether the register said the school's type, and the
    milestones already past their date when it was made (flagged to officers at once)."""

    milestones: list[Milestone]
    plan_type: str
    from_register: bool
    past: list[Milestone]
    estimated: list[str]  # what the dates rest on that is an estimate, in words


async def make_plan(
    session: AsyncSession, eoi: EOI, *, approved_at: datetime, school: School | None = None, now: datetime | None = None
) -> Planned:
    """The EOI's plan for its school's type. An EOI approved again after a reopen keeps the milestones it has; an
    officer's change of plan (`plan REF TYPE`) takes away the other plan's milestones not done yet."""
    school = school or await session.get(School, eoi.school_urn)
    plan_type, from_register = plan_type_of(eoi, school)
    plan = template().plan(plan_type, eoi.answers)
    have = {m.key: m for m in await plan_of(session, eoi.id)}
    for key, milestone in have.items():
        if plan.step(key) is None and milestone.done_at is None:
            await session.delete(milestone)
    dues = due_dates(eoi, approved_at, plan)
    for position, step in enumerate(plan.steps, 1):
        if step.key in have:
            have[step.key].position = position
        else:
            session.add(
                Milestone(
                    eoi_id=eoi.id,
                    key=step.key,
                    title=step.title,
                    owner=step.owner,
                    position=position,
                    due_at=dues[step.key],
                    done_by="",
                )
            )
    await session.flush()
    milestones = await plan_of(session, eoi.id)
    past = [m for m in milestones if m.done_at is None and m.due_at < (now or approved_at)]
    opening = _opening(eoi, approved_at.astimezone(LONDON).date(), plan)
    deadline, published = place_change_deadline(opening, plan)
    estimated = (
        []
        if published or plan.step("place_change") is None
        else [f"the place-change deadline ({format_day(deadline)}) is an estimate: the DfE hasn't published it yet"]
    )
    if not str(eoi.answers.get("start") or ""):
        estimated.append(f"no opening date was given: {plan.default_opening_days} days after approval stands for it")
    return Planned(milestones, plan_type, from_register, past, estimated)


def format_day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


async def plan_of(session: AsyncSession, eoi_id: int) -> list[Milestone]:
    return list(await session.scalars(select(Milestone).where(Milestone.eoi_id == eoi_id).order_by(Milestone.position)))


def find(milestones: list[Milestone], word: str) -> Milestone | None:
    """A milestone as people name it: its number in the plan, its key (`sla`), or the start of its title."""
    word = " ".join(word.split()).casefold()
    if not word:
        return None
    if word.isdecimal():
        return next((m for m in milestones if m.position == int(word)), None)
    return next(
        (m for m in milestones if m.key.casefold() == word or m.key.replace("_", " ").casefold() == word), None
    ) or next((m for m in milestones if m.title.casefold().startswith(word)), None)


def is_late(milestone: Milestone, now: datetime) -> bool:
    return milestone.done_at is None and milestone.due_at <= now


def rule_of(milestone: Milestone) -> PlanStep:
    """The template's row for a stored milestone; one the template no longer has waits for nothing, and is
    marked as its owner's kind was before `who:` (ECC's by officers, the school's by either)."""
    return template().step(milestone.key) or PlanStep(
        milestone.key,
        milestone.title,
        milestone.owner,
        "approval",
        0,
        who=OFFICER if milestone.owner == ECC_OWNS else EITHER,
    )


def waiting_for(milestones: list[Milestone], milestone: Milestone) -> list[Milestone]:
    """The milestones of the plan `milestone` waits for (directly or through another) that aren't done, in order."""
    before = template().before(milestone.key)
    return [m for m in milestones if m.key in before and m.done_at is None]


def done_after(milestones: list[Milestone], milestone: Milestone) -> list[Milestone]:
    """The milestones done that wait for `milestone`: it can't be undone while they stand."""
    return [m for m in milestones if m.done_at is not None and milestone.key in template().before(m.key)]


@dataclass
class NotTheirs(Refused):
    """A milestone this kind of person may not mark done (the council's, or first pupils, by a school), or an
    undo by anyone but an officer."""

    milestone: Milestone
    undo: bool = False

    def __str__(self) -> str:
        return f"{self.milestone.key} is not theirs to {'undo' if self.undo else 'mark done'}"


@dataclass
class Waiting(Refused):
    """A milestone marked done before those it comes after."""

    milestone: Milestone
    waiting: list[Milestone]

    def __str__(self) -> str:
        return f"{self.milestone.key} waits for {[m.key for m in self.waiting]}"


@dataclass
class Unconfirmed(Refused):
    """A milestone whose row asks for a confirmation (first pupils opens the provision), not yet confirmed."""

    milestone: Milestone

    def __str__(self) -> str:
        return f"{self.milestone.key} needs confirming"


@dataclass
class StillNeeded(Refused):
    """An undo of a milestone that others done since wait for; `opened`: it opened the provision, which
    `reopen` takes back (with a reason, within the reopen period)."""

    milestone: Milestone
    needed_by: list[Milestone]
    opened: bool = False

    def __str__(self) -> str:
        return f"{self.milestone.key} is needed by {[m.key for m in self.needed_by]} (opened: {self.opened})"


@dataclass(frozen=True)
class Done:
    milestone: Milestone
    opened: bool  # the last milestone: the EOI is now opened
    already: bool  # it was done before (or, undone, it wasn't)


async def refused(
    session: AsyncSession, eoi: EOI, milestones: list[Milestone], milestone: Milestone, *, by: str, now: datetime
) -> Refused | None:
    """Why `by` (SCHOOL or OFFICER) can't mark `milestone` done now, as data, or None when they can (after a
    confirmation, if its row asks for one). The one rule: `mark_done` raises it, Done buttons are offered
    only where it is None."""
    rule = rule_of(milestone)
    if not rule.may_mark(by):
        return NotTheirs(milestone)
    try:
        if rule.last:
            await transitions.allowed(session, eoi, "open", by=by, now=now)
        elif eoi.status != APPROVED:
            raise lifecycle.NotAllowed(eoi.ref or "", eoi.status, "open", "state")
    except lifecycle.NotAllowed as not_now:
        return not_now
    waiting = waiting_for(milestones, milestone)
    return Waiting(milestone, waiting) if waiting else None


async def mark_done(
    session: AsyncSession,
    eoi: EOI,
    milestone: Milestone,
    *,
    by: str,
    actor: str,
    now: datetime,
    confirmed: bool = False,
) -> Done:
    """Mark a milestone done as its row allows (`refused`), audited. The last one opens the provision as the
    life table says, once confirmed. Raises the refusal; nothing changes before every check has passed."""
    if milestone.done_at is not None and rule_of(milestone).may_mark(by):
        return Done(milestone, False, True)
    problem = await refused(session, eoi, await plan_of(session, eoi.id), milestone, by=by, now=now)
    if problem is not None:
        raise problem
    rule = rule_of(milestone)
    if rule.confirm and not confirmed:
        raise Unconfirmed(milestone)
    milestone.done_at, milestone.done_by = now, actor
    audit.record(session, at=now, actor=actor, action="milestone done", eoi_id=eoi.id, note=milestone.title)
    if rule.last:
        await transitions.transition(session, eoi, "open", by=by, actor=actor, now=now, note=milestone.title)
    return Done(milestone, rule.last, False)


async def undo(session: AsyncSession, eoi: EOI, milestone: Milestone, *, by: str, actor: str, now: datetime) -> Done:
    """An officer takes back a milestone marked done by mistake, audited; not while a milestone done since waits
    for it, nor the one that opened the provision (that is `reopen_opened`, with a reason)."""
    if by != OFFICER:
        raise NotTheirs(milestone, undo=True)
    if milestone.done_at is None:
        return Done(milestone, False, True)
    if eoi.status not in (APPROVED, OPENED):
        raise lifecycle.NotAllowed(eoi.ref or "", eoi.status, "open", "state")
    needed_by = done_after(await plan_of(session, eoi.id), milestone)
    if needed_by or eoi.status == OPENED:
        raise StillNeeded(milestone, needed_by, opened=eoi.status == OPENED)
    milestone.done_at, milestone.done_by = None, ""
    audit.record(session, at=now, actor=actor, action="milestone undone", eoi_id=eoi.id, note=milestone.title)
    return Done(milestone, False, False)


async def reopen_opened(session: AsyncSession, eoi: EOI, *, by: str, actor: str, now: datetime, note: str) -> Milestone:
    """LIFE's "reopen" from opened (an officer, within the reopen period): the EOI is approved again and the
    milestone that opened it is not done. Raises NotAllowed before anything changes."""
    await transitions.transition(session, eoi, "reopen", by=by, actor=actor, now=now, note=note)
    last = next(m for m in await plan_of(session, eoi.id) if rule_of(m).last)  # it was opened by this milestone
    last.done_at, last.done_by = None, ""
    audit.record(session, at=now, actor=actor, action="milestone undone", eoi_id=eoi.id, note=last.title)
    return last


async def implementing(session: AsyncSession, now: datetime) -> list[tuple[EOI, School, list[Milestone]]]:
    """Approved EOIs with their plans, those with late milestones first (the longest late first), then by
    their next milestone's due date."""
    rows = await session.execute(
        select(EOI, School).join(School, School.urn == EOI.school_urn).where(EOI.status == APPROVED)
    )
    found = []
    for eoi, school in rows:
        milestones = await plan_of(session, eoi.id)
        if milestones:
            found.append((eoi, school, milestones))

    def order(item: tuple[EOI, School, list[Milestone]]) -> tuple[int, datetime, str]:
        waiting = [m for m in item[2] if m.done_at is None]
        first = min((m.due_at for m in waiting), default=datetime.max.replace(tzinfo=LONDON))
        return (0 if any(is_late(m, now) for m in waiting) else 1, first, item[0].ref or "")

    return sorted(found, key=order)


async def due_soon_or_late(
    session: AsyncSession, now: datetime, *, remind_days: int | None = None
) -> list[tuple[Milestone, EOI, School]]:
    """Milestones not done of approved EOIs that are due within the reminder period or already late, by due date:
    what the scheduler reminds owners of and tells officers about."""
    days = template().remind_days_before if remind_days is None else remind_days
    rows = await session.execute(
        select(Milestone, EOI, School)
        .join(EOI, EOI.id == Milestone.eoi_id)
        .join(School, School.urn == EOI.school_urn)
        .where(EOI.status == APPROVED, Milestone.done_at.is_(None), Milestone.due_at <= now + timedelta(days=days))
        .order_by(Milestone.due_at, Milestone.id)
    )
    return [(m, e, s) for m, e, s in rows]


async def approved_of(session: AsyncSession, school_urn: str) -> list[EOI]:
    """The school's approved EOIs (being implemented), newest first."""
    return list(
        await session.scalars(
            select(EOI).where(EOI.school_urn == school_urn, EOI.status == APPROVED).order_by(EOI.id.desc())
        )
    )
