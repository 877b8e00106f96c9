"""Support through implementation: an approved EOI's plan of milestones, made from the template in
storage/implementation_plan.yaml (owners, who may mark each, what each waits for, due dates from the approval or
the opening date the school gave). A milestone is marked done only by whom its row allows and only once those it
comes after are done; the last one (first pupils) opens the provision (LIFE's "open"), after a confirmation. An
officer may undo a milestone, and reopen an opened provision (LIFE's "reopen") within the reopen period.

`refused` is the one rule behind marking a milestone done and behind offering its Done button."""

from __future__ import annotations

from dataclasses import dataclass
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
from storage.windows import LONDON

TEMPLATE = Path(__file__).with_name("implementation_plan.yaml")
SCHOOL_OWNS, ECC_OWNS = "school", "ecc"
# `who:` in the template, as the life table's kinds of person: who may mark a milestone done.
MARKED_BY = {"school": SCHOOL, "ecc": OFFICER, "either": EITHER}
BASES = ("approval", "opening")
DUE_HOUR = time(9, 0)  # a milestone is due at the start of its day, London time
_MILESTONE_KEYS = {"key", "title", "owner", "who", "after", "due", "last", "confirm"}
_TEMPLATE_KEYS = {"remind_days_before", "min_days_after_approval", "default_opening_days", "milestones"}


@dataclass(frozen=True)
class PlanStep:
    key: str
    title: str
    owner: str  # SCHOOL_OWNS | ECC_OWNS: responsible, and reminded
    base: str  # "approval" | "opening"
    days: int
    last: bool = False
    who: str = EITHER  # storage.lifecycle SCHOOL | OFFICER | EITHER: who may mark it done
    after: tuple[str, ...] = ()  # keys of the milestones done before it
    confirm: bool = False  # marking it done is confirmed first

    def may_mark(self, by: str) -> bool:
        return self.who in (by, EITHER)


@dataclass(frozen=True)
class Template:
    steps: tuple[PlanStep, ...]
    remind_days_before: int
    min_days_after_approval: int
    default_opening_days: int

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


def _checked(steps: list[PlanStep], name: str) -> None:
    keys = {s.key for s in steps}
    if len(keys) != len(steps) or sum(s.last for s in steps) != 1:
        raise ValueError(f"{name}: milestone keys must differ, and exactly one is `last: true`")
    for found in steps:
        unknown = [k for k in found.after if k not in keys or k == found.key]
        if unknown:
            raise ValueError(f"{name}: milestone {found.key!r} comes after unknown milestones {unknown}")
    plan = Template(tuple(steps), 0, 0, 0)
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


@cache
def template(path: Path = TEMPLATE) -> Template:
    """The plan template, checked as it is read: a bad template stops the service starting, not a decision."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if set(raw) - _TEMPLATE_KEYS:
        raise ValueError(f"{path.name}: unknown keys {sorted(set(raw) - _TEMPLATE_KEYS)}")
    steps = []
    for item in raw["milestones"]:
        if set(item) - _MILESTONE_KEYS:
            raise ValueError(
                f"{path.name}: milestone {item.get('key')!r} has unknown keys {sorted(set(item) - _MILESTONE_KEYS)}"
            )
        due = item["due"]
        after = item.get("after") or []
        who = str(item.get("who", ""))
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
        )
        if (
            found.owner not in (SCHOOL_OWNS, ECC_OWNS)
            or found.base not in BASES
            or len(found.key) > 40
            or not found.who
        ):
            raise ValueError(
                f"{path.name}: milestone {found.key!r} needs owner school|ecc, who {'|'.join(MARKED_BY)} and "
                f"due.from {BASES}"
            )
        steps.append(found)
    _checked(steps, path.name)
    return Template(
        tuple(steps),
        int(raw["remind_days_before"]),
        int(raw["min_days_after_approval"]),
        int(raw["default_opening_days"]),
    )


def _opening(eoi: EOI, approved: date, plan: Template) -> date:
    """The opening date the school gave (the "start" answer), or a stand-in when it gave none."""
    given = str(eoi.answers.get("start"))
    try:  # a month ("2027-09") opens on its 1st
        return date.fromisoformat(f"{given}-01" if len(given) == 7 else given)
    except ValueError:
        return approved + timedelta(days=plan.default_opening_days)


def due_dates(eoi: EOI, approved_at: datetime, plan: Template | None = None) -> dict[str, datetime]:
    """Each milestone's due time: its day (from the approval or the opening date, at least
    min_days_after_approval after the approval) at 9am London time, as UTC."""
    plan = plan or template()
    approved = approved_at.astimezone(LONDON).date()
    opening = _opening(eoi, approved, plan)
    earliest = approved + timedelta(days=plan.min_days_after_approval)
    found = {}
    for step in plan.steps:
        day = (approved if step.base == "approval" else opening) + timedelta(days=step.days)
        found[step.key] = datetime.combine(max(day, earliest), DUE_HOUR, tzinfo=LONDON)
    return found


async def make_plan(session: AsyncSession, eoi: EOI, *, approved_at: datetime) -> list[Milestone]:
    """The EOI's plan from the template. An EOI approved again after a reopen keeps the milestones it has."""
    have = {m.key for m in await plan_of(session, eoi.id)}
    dues = due_dates(eoi, approved_at)
    for position, step in enumerate(template().steps, 1):
        if step.key not in have:
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
    return await plan_of(session, eoi.id)


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
