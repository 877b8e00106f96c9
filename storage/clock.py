"""The service's idea of "now": real time, or a fixed/controllable time for demos and tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, fixed: datetime | None = None) -> None:
        self._fixed = fixed.astimezone(UTC) if fixed else None

    def now(self) -> datetime:
        """Always timezone-aware UTC; stored times are UTC and shown in Europe/London."""
        return self._fixed if self._fixed else datetime.now(UTC)

    def set(self, when: datetime) -> None:
        self._fixed = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._fixed = self.now() + delta
