"""A decision with stakeholders: an officer asks a panel (officers and named stakeholders) about an EOI, each
member recommends approve, decline or abstain with a reason, and an officer records the decision, which takes
the panel's recommendations as its record. Every step is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, transitions
from storage.lifecycle import OFFICER, UNDER_CONSIDERATION, Refused
from storage.models import EOI, Decision, Recommendation

RECOMMENDATIONS = ("approve", "decline", "abstain")


@dataclass(frozen=True)
class Member:
    key: str  # "platform:user_id"
    role: str = ""  # what they bring to the panel: "SEND quadrant lead", "finance"


class NotOnPanel(Refused):
    """Someone recommended on an EOI whose open panel doesn't include them."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"not on the decision panel for {ref}")
        self.ref = ref


async def open_panel(session: AsyncSession, eoi_id: int) -> list[Recommendation]:
    """The panel asked about this EOI since its last decision (recommended or not), in the order asked."""
    return list(
        await session.scalars(
            select(Recommendation)
            .where(Recommendation.eoi_id == eoi_id, Recommendation.decision_id.is_(None))
            .order_by(Recommendation.id)
        )
    )


async def decided_panel(session: AsyncSession, decision_id: int) -> list[Recommendation]:
    return list(
        await session.scalars(
            select(Recommendation).where(Recommendation.decision_id == decision_id).order_by(Recommendation.id)
        )
    )


async def ask(
    session: AsyncSession, eoi: EOI, members: list[Member], *, actor: str, now: datetime
) -> list[Recommendation]:
    """Open the EOI's decision (LIFE's "consider": it is under consideration) or, when it already is, add to its
    panel. Returns the members newly asked (someone already on the panel isn't asked twice)."""
    if eoi.status != UNDER_CONSIDERATION:
        names = ", ".join(m.key + (f" ({m.role})" if m.role else "") for m in members)
        await transitions.transition(session, eoi, "consider", by=OFFICER, actor=actor, now=now, note=f"panel: {names}")
        # A panel asked before and never decided (the school withdrew meanwhile) is not this one: its
        # recommendations stay in the audit log, and these members are asked afresh.
        for stale in await open_panel(session, eoi.id):
            await session.delete(stale)
        await session.flush()
    on_panel = {r.member for r in await open_panel(session, eoi.id)}
    added = []
    for member in members:
        if member.key in on_panel:
            continue
        on_panel.add(member.key)
        row = Recommendation(
            eoi_id=eoi.id, member=member.key, role=member.role[:100], asked_by=actor, asked_at=now, reason=""
        )
        session.add(row)
        added.append(row)
        audit.record(
            session,
            at=now,
            actor=actor,
            action="panel add",
            eoi_id=eoi.id,
            note=member.key + (f" as {member.role}" if member.role else ""),
        )
    await session.flush()
    return added


async def recommend(
    session: AsyncSession, eoi: EOI, *, member: str, recommendation: str, reason: str, now: datetime
) -> Recommendation:
    """A panel member's recommendation (a later one replaces their earlier one until the decision). NotOnPanel
    if they aren't on this EOI's open panel."""
    assert recommendation in RECOMMENDATIONS, recommendation
    row = next((r for r in await open_panel(session, eoi.id) if r.member == member), None)
    if row is None or eoi.status != UNDER_CONSIDERATION:
        raise NotOnPanel(eoi.ref or "")
    row.recommendation, row.reason, row.answered_at = recommendation, reason, now
    audit.record(session, at=now, actor=member, action=f"recommend {recommendation}", eoi_id=eoi.id, note=reason)
    return row


async def latest_decisions(session: AsyncSession, eoi_ids: list[int]) -> dict[int, Decision]:
    """Each EOI's latest decision, in one query (the export's decision columns)."""
    rows = await session.scalars(
        select(Decision).where(Decision.eoi_id.in_(eoi_ids)).order_by(Decision.decided_at, Decision.id)
    )
    return {d.eoi_id: d for d in rows}  # later rows replace earlier ones


async def latest_decision(session: AsyncSession, eoi_id: int) -> Decision | None:
    return await session.scalar(
        select(Decision)
        .where(Decision.eoi_id == eoi_id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(1)
    )
