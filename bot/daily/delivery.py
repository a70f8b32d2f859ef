"""What the scheduler asks of a platform, and what the platform may answer.

Each adapter contributes one `Poster`: a core reply in, a platform message out, and the
platform's answer turned into one of three outcomes. The scheduler never sees a platform
error code; the poster never decides whether to retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from ..reply import Reply


class Scope(str, Enum):
    """What a permanent failure stops: this channel's subscription, or every post on the platform
    (a revoked or invalid token: retrying channel by channel would only pile up invalid requests)."""

    CHANNEL = "channel"
    PLATFORM = "platform"


@dataclass(frozen=True, slots=True)
class Sent:
    """The platform accepted the post; `message_id` is its id there (Slack ts, Discord snowflake)."""

    message_id: str


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """A transient failure (rate limit, server error, network): try again after `seconds`."""

    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class Permanent:
    """Retrying cannot help until someone acts (invite the bot, restore a token): pause."""

    reason: str
    scope: Scope = Scope.CHANNEL


PostOutcome = Sent | RetryAfter | Permanent


class Poster(Protocol):
    """One platform's way of posting a daily fact into a channel."""

    platform: str
    # Posts per second this platform accepts from one bot across all channels; the scheduler
    # paces a fan-out to it (and spreads a popular minute) instead of bursting into 429s.
    rate: float

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        """Post `reply` publicly in `channel`. `key` is unique per (subscription, local date):
        a platform that can de-duplicate (Discord's nonce with enforce_nonce) must use it, so a
        resend after a crash cannot post twice. Must not raise: every failure is an outcome."""
        ...
