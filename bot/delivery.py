"""Getting messages out: the contract every channel sender keeps, and the dispatcher that sends each
recorded delivery once, within the platforms' rate limits, with bounded retries.

Every outgoing proactive message (a notice to a school or to officers, an announcement, a reminder) is a
Delivery row first, keyed by what and where, so a crash or a second replica never sends it twice and a
failure stays visible to officers.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.replies import Reply
from storage.models import School


class SendFailed(Exception):
    """A send that did not go. `retry_after` (seconds) comes from a 429; `permanent` means retrying is
    pointless (channel not found, bot removed, message too large)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.retry_after, self.permanent = reason, retry_after, permanent


class Sender(Protocol):
    """One chat platform's way of sending proactively. Destinations are strings that start with the
    platform name ("slack:C0123", "msteams:19:abc@thread.tacv2") so deliveries can be routed back."""

    platform: str
    # Seconds to leave between two messages to the same destination (Slack: about one per second per channel).
    min_interval: float

    async def school_destinations(self, session: AsyncSession, school: School) -> list[str]:
        """Where a school hears from us: its channel (from the register) and its staff's direct messages."""
        ...

    async def officer_destinations(self, session: AsyncSession) -> list[str]:
        """Direct messages to every officer known on this platform."""
        ...

    async def send(self, destination: str, reply: Reply) -> None:
        """Send once; raise SendFailed on failure. Do not retry inside: the dispatcher decides."""
        ...
