"""Pacing: at most `rate` posts a second to one platform, and a pause when it says 'retry after'.

10,000 channels subscribed for 09:00 are not sent at 09:00:00 in one burst (which only buys
429s and, on Discord, counts towards an IP ban): they are spread over the minutes that the
platform's rate allows. Slots are handed out one after another, so the spacing holds whatever
the send latency.
"""

from __future__ import annotations

import math

from .clock import Clock


class Pacer:
    def __init__(self, rate: float, clock: Clock):
        self.interval = 0.0 if not rate or rate <= 0 or math.isinf(rate) else 1.0 / rate
        self.clock = clock
        self._next = clock.monotonic()

    def delay(self) -> float:
        """Seconds until the next slot."""
        return max(0.0, self._next - self.clock.monotonic())

    def take(self) -> None:
        """Use the next slot (call when `delay()` is 0). Waking a little late (timer jitter)
        does not push the schedule back, so the average rate holds; waking more than a slot
        late starts afresh from now, so a pause never turns into a burst."""
        now = self.clock.monotonic()
        base = self._next if now - self._next < self.interval else now
        self._next = base + self.interval

    def refund(self) -> None:
        """Give back the slot just taken: there was nothing to send after all."""
        self._next = max(self.clock.monotonic(), self._next - self.interval)

    def hold(self, seconds: float) -> None:
        """The platform asked us to wait (429 Retry-After): no slot before then."""
        self._next = max(self._next, self.clock.monotonic() + max(0.0, seconds))
