"""An in-memory channel for delivery tests: records what arrives, can answer 429s, fail, or die mid-send."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import SendFailed
from dialogs.replies import Reply
from storage import audiences


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

    async def channel_address(self, session: AsyncSession, channel_id: str) -> str | None:
        return None if channel_id in self.unreachable else f"fake:{channel_id}"

    async def person_address(self, session: AsyncSession, user_id: str) -> str | None:
        return f"fake:{user_id}"

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


@pytest.fixture
def every_school_has_a_fake_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The register names a "fake" channel for every school: the school's URN (what RecordingSender reaches)."""
    monkeypatch.setitem(audiences.CHANNEL_COLUMNS, RecordingSender.platform, "urn")
