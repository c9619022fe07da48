"""Clocks: the system clock in production, a settable one for simulations and tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(tz=UTC)


class SimulatedClock:
    """Moves only forward; the demo and tests drive it through years of registry life."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("a simulated clock never goes back")
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self.advance(moment.astimezone(UTC) - self._now)
