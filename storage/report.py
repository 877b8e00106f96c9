"""Reporting against need: a window's identified places beside the places its EOIs offered, and how many of
those were shortlisted, approved and opened, by quadrant, district and need type. One set of numbers for
`report` (text and chart) and the close-of-window summary.

Each EOI counts once, by its status now, under the need row it answers (same need type, provision, phase and
place: a district's row before its quadrant's); an EOI that answers no identified need is counted under its
school's quadrant and district with nothing identified, so nothing offered goes missing from the totals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass
class NeedReport:
    window: Window
    lines: list[Line]

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
    try:
        return max(0, int(eoi.answers.get("places") or 0))
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
    for eoi, school in found:
        stages = [s for s in STAGES if eoi.status in REACHED[s]]
        if not stages:
            continue
        line = next((x for x in ordered if x.need is not None and _answers(x.need, eoi, school)), None)
        if line is None:
            key = (school.quadrant, school.district, eoi.primary_need, school.phase, eoi.offer)
            line = outside.setdefault(key, Line(*key, need=None))
        for stage in stages:
            line.count.eois[stage] += 1
            line.count.places[stage] += places_offered(eoi)
    return NeedReport(window, lines + [outside[k] for k in sorted(outside)])


async def for_window(session: AsyncSession, window: Window) -> NeedReport:
    return build(window, await need_for(session, window), await eois_in(session, window))
