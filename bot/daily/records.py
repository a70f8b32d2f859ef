"""The records of daily facts as the rest of the code sees them: a subscription, a day's
delivery row, a platform pause, and what a claim or a look at the store came to.

Plain frozen dataclasses with no database library behind them, so the commands and the
service can use them without importing SQLAlchemy (the store builds them from rows).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum

from .rotation import Rotation


class Status(str, Enum):
    """A subscription's state."""

    ACTIVE = "active"
    PAUSED = "paused"  # a permanent error; `daily resume` restarts it
    STOPPED = "stopped"  # unsubscribed (the row stays, so re-subscribing keeps the rotation and the day's claim)


class Outcome(str, Enum):
    """A delivery row's state: claimed while in flight, then how the day ended."""

    CLAIMED = "claimed"
    SENT = "sent"
    SKIPPED = "skipped"  # nothing to post (no facts), or the channel stopped before it went out
    FAILED = "failed"  # transient errors until the catch-up window closed
    MISSED = "missed"  # the bot was down longer than the catch-up window
    PAUSED = "paused"  # a permanent error paused the channel


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    platform: str
    workspace: str
    channel: str
    at: time
    zone: str
    status: Status
    pause_reason: str | None
    next_due: datetime | None
    changed_by: str
    rotation: Rotation


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    subscription_id: int
    local_date: date
    due_at: datetime
    key: str
    fact_id: str | None
    status: Outcome
    holder: str | None
    lease_until: datetime | None
    attempts: int
    message_id: str | None
    detail: str | None
    claimed_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class PlatformPause:
    platform: str
    reason: str
    paused_at: datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """What an attempt to claim a post came to (see `Store.claim`)."""

    outcome: Outcome
    delivery: Delivery | None = None  # set when this caller must send it
    next_due: datetime | None = None  # the subscription's next post, when the claim moved it on


@dataclass(frozen=True, slots=True)
class Scan:
    """One look at the store by the scheduler (see `Store.scan`)."""

    pauses: dict[str, PlatformPause]
    open_claims: list[tuple[Delivery, Subscription]]
    due: list[Subscription]
    next_wakeup: datetime | None  # when to look again (None: nothing scheduled)


def delivery_key(subscription_id: int, day: date) -> str:
    """The idempotency key of one day's post: the same for every resend of it (24 characters,
    within Discord's 25-character nonce)."""
    return hashlib.blake2b(f"cytobot-daily:{subscription_id}:{day.isoformat()}".encode(), digest_size=12).hexdigest()
