"""Time as the scheduler sees it: the wall clock for due times, a monotonic one for pacing.

The scheduler never calls `datetime.now` or `asyncio.sleep` itself, so a simulation can run a
year of posts in seconds (`SteppingClock`), while the bot runs on `SystemClock`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds that only move forward (pacing must not jump when the wall clock is set)."""
        ...

    async def sleep(self, seconds: float) -> None:
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


SYSTEM_CLOCK = SystemClock()


class SteppingClock:
    """FOR TESTS, SIMULATIONS AND BENCHMARKS ONLY: time stands still until someone sleeps, and
    a sleep moves it forward at once by the time asked. A scheduler driven by it walks through
    every due moment of a year without waiting, and sees exactly the instants it would see live."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("start must be aware")
        self._now = start.astimezone(timezone.utc)
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._now += timedelta(seconds=seconds)
            self._elapsed += seconds

    def set(self, instant: datetime) -> None:
        """Jump to `instant` (forward only), e.g. to simulate downtime."""
        self.advance((instant - self._now).total_seconds())

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
