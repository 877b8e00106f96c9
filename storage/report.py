"""Reporting against need: a window's identified places beside the places its EOIs offered, and how many of
those were shortlisted, approved and opened, by quadrant, district and need type. One set of numbers for
`report` (text and chart) and the close-of-window summary.

Each EOI counts once, by its status now, under the need row it answers (same need type, provision, phase and
place: a district's row before its quadrant's); an EOI that answers no identified need is counted under its
school's quadrant and district with nothing identified, so nothing offered goes missing from the totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.lifecycle import (
    APPROVED,
    DECLINED,
    DRAFT,
    NOT_SHORTLISTED,
    OPENED,
    SCHEDULED,
    SHORTLISTED,
    STATES,
    UNDER_CONSIDERATION,
    WITHDRAWN,
)
from storage.models import EOI, NeedRow, School, Window
from storage.vocabulary import academic_year_of
from storage.windows import covers, eois_in, need_for

STAGES = ("offered", "shortlisted", "approved", "opened")
# The states an EOI is in once it has reached each stage (by its status now: withdrawn EOIs are left out).
REACHED: dict[str, tuple[str, ...]] = {
    "offered": tuple(s for s in STATES if s not in (DRAFT, WITHDRAWN)),
    "shortlisted": (SHORTLISTED, SCHEDULED, UNDER_CONSIDERATION, APPROVED, DECLINED, OPENED),
    "approved": (APPROVED, OPENED),
    "opened": (OPENED,),
}
assert NOT_SHORTLISTED in REACHED["offered"] and NOT_SHORTLISTED not in REACHED["shortlisted"]


@dataclass
class Count:
    """Identified places, and for each stage the EOIs and the places they offer."""

    identified: int = 0
    eois: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    places: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))

    def add(self, other: Count) -> None:
        self.identified += other.identified
        for stage in STAGES:
            self.eois[stage] += other.eois[stage]
            self.places[stage] += other.places[stage]


@dataclass
class Line:
    """One identified need (or, with `need` None, EOIs that answer no identified need in one place)."""

    quadrant: str
    district: str  # "" for a need across the whole quadrant
    need_type: str
    phase: str
    provision: str
    need: NeedRow | None
    count: Count = field(default_factory=Count)


def academic_year_of_answer(start: Any) -> str:
    """ "2027/28" for a stored date ("2027-09" or "2028-01-05"): the academic year runs September to August. ""
    when it isn't a stored date."""
    text = str(start or "")
    try:
        return academic_year_of(date(int(text[:4]), int(text[5:7]), 1))
    except ValueError:
        return ""


@dataclass
class Offers:
    """What the EOIs offered bring besides their places (version 2 of the questions): the places open in each
    academic year, the building work needed and its estimated cost, outreach, and trusts' sign-off."""

    by_year: Counter[str] = field(default_factory=Counter)
    needing_work: int = 0
    costed: int = 0  # of those needing work, how many gave a cost
    estimated_cost: int = 0
    contributions: int = 0  # pounds the schools or trusts said they could put in
    outreach: Counter[str] = field(default_factory=Counter)
    trusts_asked: int = 0
    trusts_agreed: int = 0

    def add(self, answers: dict[str, Any]) -> None:
        plan = answers.get("places_plan")
        if isinstance(plan, list) and answers.get("places_by_year") == "build_up":
            for year, places in plan:
                self.by_year[str(year)] += int(places)
        elif academic_year_of_answer(answers.get("start")):
            self.by_year[academic_year_of_answer(answers.get("start"))] += places_in(answers)
        if answers.get("works_estimate"):
            self.needing_work += 1
            if isinstance(answers.get("works_cost"), int):
                self.costed += 1
                self.estimated_cost += answers["works_cost"]
        if answers.get("school_contribution") == "yes" and isinstance(answers.get("school_contribution_amount"), int):
            self.contributions += answers["school_contribution_amount"]
        if answers.get("outreach"):
            self.outreach[str(answers["outreach"])] += 1
        if answers.get("trust_signoff") in ("yes", "not_yet"):
            self.trusts_asked += 1
            self.trusts_agreed += answers["trust_signoff"] == "yes"


@dataclass
class NeedReport:
    window: Window
    lines: list[Line]
    offers: Offers = field(default_factory=Offers)

    def total(self) -> Count:
        total = Count()
        for line in self.lines:
            total.add(line.count)
        return total

    def by(self, what: str) -> list[tuple[str, Count]]:
        """Counts grouped by "quadrant", "district" (a quadrant-wide need is "Mid (whole quadrant)") or "need"."""
        keys: dict[str, Callable[[Line], str]] = {
            "quadrant": lambda line: line.quadrant,
            "district": lambda line: line.district or f"{line.quadrant} (whole quadrant)",
            "need": lambda line: line.need_type or "?",
        }
        groups: dict[str, Count] = {}
        for line in self.lines:
            groups.setdefault(keys[what](line), Count()).add(line.count)
        return sorted(groups.items())


def places_offered(eoi: EOI) -> int:
    return places_in(eoi.answers)


def places_in(answers: dict[str, Any]) -> int:
    try:
        return max(0, int(answers.get("places") or 0))
    except (TypeError, ValueError):
        return 0


def _answers(need: NeedRow, eoi: EOI, school: School) -> bool:
    return (
        covers(need, school)
        and eoi.primary_need == need.need_type
        and (not eoi.offer or eoi.offer == need.provision_type)
    )


def build(window: Window, needs: list[NeedRow], found: list[tuple[EOI, School]]) -> NeedReport:
    lines = [
        Line(n.quadrant, n.district, n.need_type, n.phase, n.provision_type, n, Count(identified=n.places))
        for n in needs
    ]
    # A district's own row first, then its quadrant's: each EOI counts once.
    ordered = sorted(lines, key=lambda line: line.district == "")
    outside: dict[tuple[str, str, str, str, str], Line] = {}
    offers = Offers()
    for eoi, school in found:
        stages = [s for s in STAGES if eoi.status in REACHED[s]]
        if not stages:
            continue
        offers.add(eoi.answers)
        line = next((x for x in ordered if x.need is not None and _answers(x.need, eoi, school)), None)
        if line is None:
            key = (school.quadrant, school.district, eoi.primary_need, school.phase, eoi.offer)
            line = outside.setdefault(key, Line(*key, need=None))
        for stage in stages:
            line.count.eois[stage] += 1
            line.count.places[stage] += places_offered(eoi)
    return NeedReport(window, lines + [outside[k] for k in sorted(outside)], offers)


async def for_window(session: AsyncSession, window: Window) -> NeedReport:
    return build(window, await need_for(session, window), await eois_in(session, window))
