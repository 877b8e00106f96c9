"""The audit log: who did what, when, from which status to which."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    eoi_id: int | None = None,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
) -> None:
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            action=action,
            eoi_id=eoi_id,
            from_status=from_status,
            to_status=to_status,
            note=note[:4000],
        )
    )


async def history(session: AsyncSession, eoi_id: int) -> list[AuditEntry]:
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.eoi_id == eoi_id).order_by(AuditEntry.at, AuditEntry.id)
    )
    return list(rows)
