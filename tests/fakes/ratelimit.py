"""The rate limits the loopback fakes enforce: token buckets, global and per channel.

Slack lets an app post about one message per second per channel (short bursts allowed) under
an unpublished workspace-wide limit; Discord allows a bot 50 requests per second across the API
plus per-route buckets. A fake configured with a `RateLimiter` answers 429 as the platform
would when a client goes faster, and counts every violation, so a test or benchmark can prove
that a fan-out stayed inside the limit rather than merely finished.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Bucket:
    """`rate` tokens per second, holding at most `burst`; a request takes one token."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take a token; 0.0 when one was there, else the seconds until one will be."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused: `scope` is "global" or "channel"."""

    retry_after: float
    scope: str

    @property
    def whole_seconds(self) -> int:
        """Slack's Retry-After is whole seconds, rounded up so a client that obeys it gets through."""
        return max(1, math.ceil(self.retry_after))


@dataclass
class RateLimiter:
    """Off unless configured: `global_rate` requests/s for everything, `channel_rate` per channel.

    `burst` defaults to one second's worth of the rate (at least 1). Refused requests take no
    token, as on the platforms: a client that keeps hammering stays refused only as long as it
    keeps being too fast.
    """

    global_rate: float | None = None
    global_burst: float | None = None
    channel_rate: float | None = None
    channel_burst: float | None = None
    clock: Callable[[], float] = time.monotonic
    violations: int = 0
    accepted: int = 0
    first_accepted: float | None = None
    last_accepted: float | None = None
    _global: Bucket | None = field(default=None, repr=False)
    _channels: dict[str, Bucket] = field(default_factory=dict, repr=False)

    def _bucket(self, rate: float, burst: float | None, now: float) -> Bucket:
        size = burst if burst is not None else max(1.0, rate)
        return Bucket(rate=rate, burst=size, tokens=size, updated=now)

    def check(self, channel: str) -> Refusal | None:
        """Admit one request to `channel` (None), or say how long to wait (a `Refusal`)."""
        now = self.clock()
        if self.channel_rate is not None:
            bucket = self._channels.get(channel)
            if bucket is None:
                bucket = self._channels[channel] = self._bucket(self.channel_rate, self.channel_burst, now)
            wait = bucket.take(now)
            if wait:
                self.violations += 1
                return Refusal(wait, "channel")
        if self.global_rate is not None:
            if self._global is None:
                self._global = self._bucket(self.global_rate, self.global_burst, now)
            wait = self._global.take(now)
            if wait:
                if self.channel_rate is not None:  # give the channel its token back: nothing was posted
                    self._channels[channel].tokens += 1.0
                self.violations += 1
                return Refusal(wait, "global")
        self.accepted += 1
        if self.first_accepted is None:
            self.first_accepted = now
        self.last_accepted = now
        return None

    def achieved_rate(self) -> float:
        """Accepted requests per second between the first and the last one accepted."""
        if self.first_accepted is None or self.last_accepted is None or self.accepted < 2:
            return 0.0
        span = self.last_accepted - self.first_accepted
        return (self.accepted - 1) / span if span > 0 else float("inf")
