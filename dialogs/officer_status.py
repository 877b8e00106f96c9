"""An officer's `status`: what is still ahead across every window (EOIs awaiting a step, discussions to come,
open follow-ups), then ECC's own implementation milestones. An EOI whose window closed still counts while
something is ahead of it, as it does in its school's `status`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import implementation
from dialogs.replies import Fact, Reply
from storage import eois
from storage.lifecycle import APPROVED, SCHEDULED, SHORTLISTED, SUBMITTED, UNDER_CONSIDERATION

# Each state still ahead, as officers read the count, and the `list` that shows those EOIs.
AHEAD = (
    (SUBMITTED, "submitted, to shortlist or not", "list submitted"),
    (SHORTLISTED, "shortlisted, to book a discussion", "list shortlisted"),
    (SCHEDULED, "with a discussion, to decide", "list discussion scheduled"),
    (UNDER_CONSIDERATION, "with a decision panel", "list under consideration"),
    (APPROVED, "approved and being implemented", "list implementing"),
)


async def status(session: AsyncSession, now: datetime) -> list[Reply]:
    by_state, to_come, follow_ups = await eois.counts_ahead(session, now)
    facts = [
        Fact(str(by_state[state]), f"{words} ({listing})") for state, words, listing in AHEAD if by_state.get(state)
    ]
    if to_come:
        facts.append(Fact(str(to_come), "discussions to come"))
    if follow_ups:
        facts.append(Fact(str(follow_ups), "follow-ups agreed at discussions, still open"))
    ahead = Reply(
        text="What is still ahead, across every window:" if facts else "Nothing is waiting on ECC in any window.",
        kind="list",
        title="Still ahead",
        facts=facts,
    )
    return [ahead, *await implementation.officer_next_steps(session, now)]
