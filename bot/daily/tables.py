"""The daily-fact tables, as SQLAlchemy Core metadata (the migrations create the same shape).

Three tables: a channel's subscription, one delivery row per (subscription, local date), which
is what makes a post exactly-once, and platform-wide pauses (a revoked token stops a platform,
not each of its channels). Beside them, in the same database, `seen_events`: the chat events
already taken on, one row per key, so replicas answer each event once (`bot.daily.seen`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC instant, stored as naive UTC so SQLite and PostgreSQL compare the same way."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store aware datetimes only")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        return None if value is None else value.replace(tzinfo=timezone.utc)


SEEN_KEY_LENGTH = 255  # longer event keys are stored as their hash (bot.daily.seen)

# A 64-bit key everywhere except SQLite, where only INTEGER PRIMARY KEY autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")

subscriptions = Table(
    "daily_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("workspace", String(64), nullable=False, default=""),
    Column("channel", String(64), nullable=False),
    Column("post_time", String(5), nullable=False),  # local wall-clock time, HH:MM
    Column("zone", String(64), nullable=False),  # IANA name
    Column("status", String(16), nullable=False),  # active | paused | stopped
    Column("pause_reason", Text),
    Column("next_due", UTCDateTime),  # the next post's instant while active
    Column("changed_by", String(64), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("rotation_seed", BigInteger, nullable=False),
    Column("rotation_cycle", Integer, nullable=False, default=0),
    Column("rotation_done", Text, nullable=False, default="[]"),  # JSON list of fact ids
    Column("rotation_last", String(64)),
    # One subscription per channel *of a workspace*: a Slack channel shared between workspaces
    # (Slack Connect, Enterprise Grid) is not the other workspace's to change (migration 0003).
    UniqueConstraint("platform", "workspace", "channel", name="uq_daily_subscriptions_workspace_channel"),
    Index("ix_daily_subscriptions_due", "status", "platform", "next_due"),
)

deliveries = Table(
    "daily_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("daily_subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("key", String(32), nullable=False),  # idempotency key / Discord nonce, from (subscription, date)
    Column("fact_id", String(64)),
    Column("status", String(16), nullable=False),  # claimed | sent | skipped | failed | missed | paused
    Column("holder", String(64)),  # the scheduler sending it now (NULL: free to take)
    Column("lease_until", UTCDateTime),  # a claimed row is free to take from this instant
    Column("attempts", Integer, nullable=False, default=0),
    Column("message_id", String(64)),
    Column("detail", Text),
    Column("claimed_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    UniqueConstraint("subscription_id", "local_date", name="uq_daily_deliveries_day"),
    Index("ix_daily_deliveries_open", "status", "lease_until"),
)

platform_pauses = Table(
    "daily_platform_pauses",
    metadata,
    Column("platform", String(32), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("paused_at", UTCDateTime, nullable=False),
)

seen_events = Table(
    "seen_events",
    metadata,
    Column("key", String(SEEN_KEY_LENGTH), primary_key=True),  # unique: the insert that goes in wins
    Column("seen_at", UTCDateTime, nullable=False),  # first seen; rows older than an hour are pruned
    Index("ix_seen_events_seen_at", "seen_at"),
)
