"""Who hears for a school, and who hears for the officers: decided here, once, for every platform. A channel
only turns a register channel id or a person into an address on its platform (bot.delivery.Sender)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import people
from storage.models import School

# The register column naming a school's channel on each platform (the schools CSV's *_channel_id columns).
CHANNEL_COLUMNS: dict[str, str] = {"slack": "slack_channel_id", "msteams": "teams_channel_id"}


@dataclass(frozen=True)
class Audience:
    channels: tuple[tuple[str, str], ...] = ()  # (platform, channel id as the register names it)
    people: tuple[tuple[str, str], ...] = ()  # (platform, user id)


def school_channels(school: School) -> tuple[tuple[str, str], ...]:
    found = []
    for platform, column in CHANNEL_COLUMNS.items():
        # Teams channel ids are sometimes pasted with ";messageid=…" from a link: the channel is before it.
        channel = str(getattr(school, column, "") or "").split(";")[0].strip()
        if channel:
            found.append((platform, channel))
    return tuple(found)


async def for_school(session: AsyncSession, school: School) -> Audience:
    """A school hears in its channels (from the register) and in the direct messages of everyone linked to it."""
    staff = await people.staff_of(session, school.urn)
    return Audience(school_channels(school), tuple((p.platform, p.user_id) for p in staff))


async def for_officers(session: AsyncSession, named: tuple[tuple[str, str], ...] = ()) -> Audience:
    """Officers hear in their direct messages: those named in EOI_OFFICERS (even before they first talk to the
    bot, where their platform can reach them), then everyone with the role."""
    known = [(p.platform, p.user_id) for p in await people.officers(session)]
    return Audience(people=tuple(dict.fromkeys([*named, *known])))


def for_person(recipient: str) -> Audience:
    """One person, in their direct messages ("platform:user_id", as a notice's recipient names them)."""
    platform, _, user_id = recipient.partition(":")
    return Audience(people=((platform, user_id),) if user_id else ())
