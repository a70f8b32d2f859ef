"""Daily facts: subscriptions, one delivery row per subscription and local date, platform pauses.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Self-contained on purpose: a migration must keep creating the same shape when the code changes.
UTCDateTime = sa.DateTime(timezone=False)  # naive UTC (bot.daily.tables.UTCDateTime converts)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("post_time", sa.String(5), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pause_reason", sa.Text),
        sa.Column("next_due", UTCDateTime),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("changed_at", UTCDateTime, nullable=False),
        sa.Column("rotation_seed", sa.BigInteger, nullable=False),
        sa.Column("rotation_cycle", sa.Integer, nullable=False),
        sa.Column("rotation_done", sa.Text, nullable=False),
        sa.Column("rotation_last", sa.String(64)),
        sa.UniqueConstraint("platform", "channel", name="uq_daily_subscriptions_channel"),
    )
    op.create_index("ix_daily_subscriptions_due", "daily_subscriptions", ["status", "platform", "next_due"])
    op.create_table(
        "daily_deliveries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("daily_subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("local_date", sa.Date, nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("fact_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(64)),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(64)),
        sa.Column("detail", sa.Text),
        sa.Column("claimed_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.UniqueConstraint("subscription_id", "local_date", name="uq_daily_deliveries_day"),
    )
    op.create_index("ix_daily_deliveries_open", "daily_deliveries", ["status", "lease_until"])
    op.create_table(
        "daily_platform_pauses",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("paused_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("daily_platform_pauses")
    op.drop_index("ix_daily_deliveries_open", table_name="daily_deliveries")
    op.drop_table("daily_deliveries")
    op.drop_index("ix_daily_subscriptions_due", table_name="daily_subscriptions")
    op.drop_table("daily_subscriptions")
