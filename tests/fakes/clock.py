"""A clock a test moves by hand, for driving the real daily-facts scheduler against the fakes,
and the waits such a test needs (a condition, a post recorded as sent, a subscription's state).

Wall time stands where the test puts it, so a post falls due exactly when the test says; the
monotonic time the scheduler paces with moves with it (a 429's wait ends when the test moves
past it) and with real time. Sleeps are short real sleeps, so the scheduler keeps looking at
its store while the test moves the time and watches what reaches the fake.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

NAP = 0.02  # longest real sleep, seconds


class ManualClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be aware")
        self._now = start
        self._offset = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._offset += seconds

    def set(self, instant: datetime) -> None:
        self.advance((instant - self._now).total_seconds())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(max(seconds, 0.0), NAP))


async def eventually(check, timeout: float = 5.0, what: str = "the condition"):  # type: ignore[no-untyped-def]
    """Poll `check()` (sync or async) until it returns something truthy; return that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(NAP)


async def sent_delivery(store: Any, subscription_id: int) -> Any:
    """The subscription's last delivery if it was recorded as sent, else None."""
    from bot.daily.store import Outcome

    last = await store.last_delivery(subscription_id)
    return last if last is not None and last.status is Outcome.SENT else None


async def subscription_in(store: Any, platform: str, channel: str, status: Any) -> Any:
    """The channel's subscription if it is in `status`, else None."""
    sub = await store.get(platform, channel)
    return sub if sub is not None and sub.status is status else None
