"""An in-memory channel for delivery tests: records what arrives, can answer 429s, fail, or die mid-send."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import SendFailed
from dialogs.replies import Reply
from storage.models import Person, School


class SimulatedCrash(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the dispatcher catches it."""


class RecordingSender:
    platform = "fake"

    def __init__(self, *, min_interval: float = 0.0, unreachable: set[str] | None = None) -> None:
        self.min_interval = min_interval
        self.unreachable = unreachable or set()
        self.received: list[tuple[str, Reply]] = []
        self._failures: list[SendFailed] = []
        self._crash_after: int | None = None

    async def school_destinations(self, session: AsyncSession, school: School) -> list[str]:
        return [] if school.urn in self.unreachable else [f"fake:{school.urn}"]

    async def officer_destinations(self, session: AsyncSession) -> list[str]:
        officers = await session.scalars(select(Person).where(Person.role == "officer"))
        return [f"fake:officer:{p.user_id}" for p in officers]

    def fail_next(self, failure: SendFailed, times: int = 1) -> None:
        self._failures += [failure] * times

    def crash_after(self, sends: int) -> None:
        self._crash_after = sends

    async def send(self, destination: str, reply: Reply, *, key: str = "") -> None:
        await asyncio.sleep(0)
        if self._failures:
            raise self._failures.pop(0)
        if self._crash_after is not None and len(self.received) >= self._crash_after:
            self._crash_after = -1  # once dead, always dead
            raise SimulatedCrash
        self.received.append((destination, reply))

    def count(self, kind_prefix: str = "") -> Counter[str]:
        return Counter(d for d, r in self.received if r.title.startswith(kind_prefix) or not kind_prefix)
