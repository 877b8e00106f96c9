"""Officers' scores of an EOI against the council's shortlisting criteria (which criteria there are and what each
weighs is the council's data, dialogs/shortlisting_criteria.yaml: here they are only keys and weights). Each
officer's scores are their own: scoring again replaces that officer's earlier score of the same criterion (the
earlier one kept in the audit log, "score"), and another officer's stay, so two officers' views are both kept and
a mean is taken across them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import EOI, Score

SCORES = range(4)  # 0, 1, 2, 3


@dataclass(frozen=True)
class Given:
    """One criterion's score as an officer gave it."""

    criterion: str
    score: int
    reason: str


@dataclass(frozen=True)
class Scored:
    """Every officer's scores of one EOI: by officer ("platform:user_id", in the order they first scored), then by
    criterion."""

    by_officer: dict[str, dict[str, Score]] = field(default_factory=dict)

    def means(self) -> dict[str, float]:
        """Each criterion's mean score across the officers who scored it."""
        found: dict[str, list[int]] = {}
        for scores in self.by_officer.values():
            for criterion, row in scores.items():
                found.setdefault(criterion, []).append(row.score)
        return {criterion: sum(each) / len(each) for criterion, each in found.items()}

    def mean_total(self, weights: Mapping[str, float]) -> float:
        """The weighted total of the means: with every officer's scores complete, the mean of their totals."""
        return weighted(self.means(), weights)

    def total_of(self, officer: str, weights: Mapping[str, float]) -> float:
        return weighted({c: row.score for c, row in self.by_officer.get(officer, {}).items()}, weights)


def weighted(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The sum of weight x score over the criteria there are now (a criterion the council removed counts nothing)."""
    return sum(weights[c] * s for c, s in scores.items() if c in weights)


async def keep(session: AsyncSession, eoi: EOI, given: Sequence[Given], *, officer: str, now: datetime) -> bool:
    """Keep one officer's scores of these criteria, replacing theirs of the same criteria; audited "score" with
    what changed (an earlier score and its reason, so nothing replaced is lost). False when nothing changed."""
    for g in given:
        if g.score not in SCORES or not g.reason.strip():
            raise ValueError(f"a score is 0 to 3 with a reason: {g}")
    earlier = {
        row.criterion: row
        for row in await session.scalars(select(Score).where(Score.eoi_id == eoi.id, Score.officer == officer))
    }
    changes = []
    for g in given:
        row = earlier.get(g.criterion)
        if row is None:
            session.add(
                Score(
                    eoi_id=eoi.id, officer=officer, criterion=g.criterion, score=g.score, reason=g.reason, scored_at=now
                )
            )
            changes.append(f"{g.criterion} {g.score}")
        elif (row.score, row.reason) != (g.score, g.reason):
            changes.append(f"{g.criterion} {g.score} (was {row.score}: {row.reason})")
            row.score, row.reason, row.scored_at = g.score, g.reason, now
    if changes:
        audit.record(session, at=now, actor=officer, action="score", eoi_id=eoi.id, note="; ".join(changes))
        await session.flush()
    return bool(changes)


async def of_eoi(session: AsyncSession, eoi_id: int) -> Scored:
    rows = await session.scalars(select(Score).where(Score.eoi_id == eoi_id).order_by(Score.scored_at, Score.id))
    scored = Scored()
    for row in rows:
        scored.by_officer.setdefault(row.officer, {})[row.criterion] = row
    return scored


async def mean_totals(session: AsyncSession, eoi_ids: Sequence[int], weights: Mapping[str, float]) -> dict[int, float]:
    """Each scored EOI's mean total (Scored.mean_total), in one query; an EOI nobody has scored is absent."""
    if not eoi_ids:
        return {}
    by_eoi: dict[int, Scored] = {}
    for row in await session.scalars(select(Score).where(Score.eoi_id.in_(list(eoi_ids)))):
        by_eoi.setdefault(row.eoi_id, Scored()).by_officer.setdefault(row.officer, {})[row.criterion] = row
    return {eoi_id: scored.mean_total(weights) for eoi_id, scored in by_eoi.items()}
