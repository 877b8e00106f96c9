"""The implementation scheduler (bot/announce.py runs it with the windows): each milestone's owner is reminded
once, `remind_days_before` its due date (storage/implementation_plan.yaml), and officers are told once when one
slips past it. Once-only as the window steps are: each notice has a unique key, recorded in the same
transaction, so restarts and replicas never repeat one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import implementation as words
from storage import implementation, notices
from storage.implementation import SCHOOL_OWNS


async def milestone_notices(session: AsyncSession, now: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    """The notices due now (rows for storage.db.insert_new) and a line for the log per milestone."""
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for milestone, eoi, school in await implementation.due_soon_or_late(session, now):
        base = {"eoi_id": eoi.id, "school_urn": school.urn, "created_at": now}
        if milestone.due_at <= now:
            body = (await words.slipped(session, milestone, eoi, school, now)).to_dict()
            rows.append(
                {
                    **base,
                    "key": f"milestone-late:{milestone.id}",
                    "audience": "officers",
                    "kind": "milestone late",
                    "body": body,
                }
            )
            lines.append(f"{eoi.ref}: {milestone.title} is late: officers told")
        else:
            audience = "school" if milestone.owner == SCHOOL_OWNS else "officers"
            body = (await words.reminder(session, milestone, eoi, school, now)).to_dict()
            rows.append(
                {
                    **base,
                    "key": f"milestone-due:{milestone.id}",
                    "audience": audience,
                    "kind": "milestone due",
                    "body": body,
                }
            )
            lines.append(f"{eoi.ref}: {milestone.title} due soon: {audience} reminded")
    # Said once: those already recorded (an earlier round, another replica) are neither planned nor logged again.
    known = await notices.recorded_keys(session, [row["key"] for row in rows])
    fresh = [(row, line) for row, line in zip(rows, lines, strict=True) if row["key"] not in known]
    return [row for row, _ in fresh], [line for _, line in fresh]
