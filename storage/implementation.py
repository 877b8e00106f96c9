"""Support through implementation: an approved EOI's plan of milestones, made from the template in
storage/implementation_plan.yaml (owners, due dates from the approval or the opening date the school gave), and
marked done by their owners; the last one (first pupils) opens the provision (LIFE's "open")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, eois
from storage.lifecycle import APPROVED, SCHOOL, Refused
from storage.models import EOI, Milestone, School
from storage.windows import LONDON

TEMPLATE = Path(__file__).with_name("implementation_plan.yaml")
SCHOOL_OWNS, ECC_OWNS = "school", "ecc"
BASES = ("approval", "opening")
DUE_HOUR = time(9, 0)  # a milestone is due at the start of its day, London time


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    owner: str  # SCHOOL_OWNS | ECC_OWNS
    base: str  # "approval" | "opening"
    days: int
    last: bool = False


@dataclass(frozen=True)
class Template:
    steps: tuple[Step, ...]
    remind_days_before: int
    min_days_after_approval: int
    default_opening_days: int


@cache
def template(path: Path = TEMPLATE) -> Template:
    """The plan template, checked as it is read: a bad template stops the service starting, not a decision."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = []
    for item in raw["milestones"]:
        due = item["due"]
        found = Step(
            str(item["key"]),
            str(item["title"]),
            str(item["owner"]),
            str(due["from"]),
            int(due["days"]),
            bool(item.get("last", False)),
        )
        if found.owner not in (SCHOOL_OWNS, ECC_OWNS) or found.base not in BASES or len(found.key) > 40:
            raise ValueError(f"{path.name}: milestone {found.key!r} needs owner school|ecc and due.from {BASES}")
        steps.append(found)
    if len({s.key for s in steps}) != len(steps) or sum(s.last for s in steps) != 1:
        raise ValueError(f"{path.name}: milestone keys must differ, and exactly one is `last: true`")
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


class NotTheirs(Refused):
    """A school marking done a milestone ECC owns."""

    def __init__(self, milestone: Milestone) -> None:
        super().__init__(f"{milestone.key} is ECC's to mark done")
        self.milestone = milestone


@dataclass(frozen=True)
class Done:
    milestone: Milestone
    opened: bool  # the last milestone: the EOI is now opened
    already: bool  # it was done before


async def mark_done(
    session: AsyncSession, eoi: EOI, milestone: Milestone, *, by: str, actor: str, now: datetime
) -> Done:
    """The owner (or an officer, for either side) marks a milestone done; audited. The last one opens the
    provision as the life table says (Refused if the EOI isn't approved, say reopened meanwhile)."""
    if by == SCHOOL and milestone.owner != SCHOOL_OWNS:
        raise NotTheirs(milestone)
    if milestone.done_at is not None:
        return Done(milestone, False, True)
    last = next(s for s in template().steps if s.last).key == milestone.key
    if last:  # checked before anything changes, so a refusal loses nothing
        await eois.allowed(session, eoi, "open", by=by, now=now)
    elif eoi.status != APPROVED:
        raise eois.NotAllowed(eoi.ref or "", eoi.status, "open", "state")
    milestone.done_at, milestone.done_by = now, actor
    audit.record(session, at=now, actor=actor, action="milestone done", eoi_id=eoi.id, note=milestone.title)
    if last:
        await eois.transition(session, eoi, "open", by=by, actor=actor, now=now, note=milestone.title)
    return Done(milestone, last, False)


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
