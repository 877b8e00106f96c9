"""Who hears of a step in an EOI's life: the life table's row says (`tell_school`, `tell_officers`), and this
is the one place that plans those notices. A handler may word what each audience reads (an invitation, a
decision with its reason); it can't tell an audience the row doesn't, and an audience the row tells that the
handler didn't word hears the table's own words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.actions import Command
from dialogs.lifecycle_words import PAST
from dialogs.replies import Choice, Reply
from storage import notices
from storage.lifecycle import step
from storage.models import EOI, School

Told = Sequence[tuple[str, Reply]]  # each notice's kind ("shortlisted", "calendar") and what it says


class NotTheTables(ValueError):
    """A handler tried to tell someone the life table doesn't tell of this step: a bug, caught in tests."""


async def tell(
    session: AsyncSession,
    event: str,
    source: str,
    eoi: EOI,
    school: School,
    *,
    now: datetime,
    school_hears: Told = (),
    officers_hear: Told = (),
) -> None:
    """Plan the notices of `event` taken from state `source` (storage.transitions.transition has moved the EOI)."""
    row = step(event, source)
    if row is None:
        raise NotTheTables(f"no step {event!r} from {source!r}")
    if school_hears and not row.tell_school:
        raise NotTheTables(f"the life table doesn't tell the school of {event!r} from {source!r}")
    if officers_hear and not row.tell_officers:
        raise NotTheTables(f"the life table doesn't tell officers of {event!r} from {source!r}")
    ref = eoi.ref or "(draft)"
    if row.tell_school:
        default = Reply(
            kind="notice",
            title=f"{ref}: {PAST[event]}",
            text=f"{school.name}'s expression of interest {ref} has been {PAST[event]}.",
        )
        for kind, reply in school_hears or [(event, default)]:
            await notices.to_school(
                session, school_urn=school.urn, eoi_id=eoi.id, kind=kind, now=now, body=reply.to_dict()
            )
    if row.tell_officers:
        show = [Choice("Show", Command(f"show {ref}"))]
        default = Reply(kind="notice", text=f"{school.name}'s {ref} has been {PAST[event]}.", choices=show)
        for kind, reply in officers_hear or [(event, default)]:
            await notices.to_officers(
                session, kind=kind, now=now, eoi_id=eoi.id, school_urn=school.urn, body=reply.to_dict()
            )
