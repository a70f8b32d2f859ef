"""Subscriptions keyed by (platform, workspace, channel), not (platform, channel).

A Slack channel can be reached from more than one workspace (Slack Connect shared channels,
Enterprise Grid): keyed by channel alone, a request from another workspace changed the first
workspace's subscription. Every row is carried over as it is (its workspace column already
holds the workspace it was made from), with its deliveries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Self-contained on purpose: a migration must keep creating the same shape when the code changes.
UTCDateTime = sa.DateTime(timezone=False)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD, NEW = "uq_daily_subscriptions_channel", "uq_daily_subscriptions_workspace_channel"
SUBSCRIPTION_COLUMNS = ("id, platform, workspace, channel, post_time, zone, status, pause_reason, next_due, changed_by, "
                        "created_at, changed_at, rotation_seed, rotation_cycle, rotation_done, rotation_last")
DELIVERY_COLUMNS = ("id, subscription_id, local_date, due_at, key, fact_id, status, holder, lease_until, attempts, "
                    "message_id, detail, claimed_at, finished_at")


def _subscriptions(name: str, unique: tuple[str, ...], constraint: str) -> None:
    op.create_table(
        name,
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
        sa.UniqueConstraint(*unique, name=constraint),
    )


def _deliveries(name: str, parent: str) -> None:
    op.create_table(
        name,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"), nullable=False),
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


def _rebuild_sqlite(unique: tuple[str, ...], constraint: str) -> None:
    """SQLite cannot drop a table constraint: both tables are rebuilt. Inside the migration's
    transaction foreign keys stay on, and dropping a parent table deletes its children's rows
    (ON DELETE CASCADE), so the new deliveries table points at the new subscriptions table
    from the start, the old tables go child first, and the renames carry the reference along."""
    _subscriptions("_new_daily_subscriptions", unique, constraint)
    op.execute(f"INSERT INTO _new_daily_subscriptions ({SUBSCRIPTION_COLUMNS}) "
               f"SELECT {SUBSCRIPTION_COLUMNS} FROM daily_subscriptions")
    _deliveries("_new_daily_deliveries", "_new_daily_subscriptions")
    op.execute(f"INSERT INTO _new_daily_deliveries ({DELIVERY_COLUMNS}) SELECT {DELIVERY_COLUMNS} FROM daily_deliveries")
    op.drop_index("ix_daily_deliveries_open", table_name="daily_deliveries")
    op.drop_table("daily_deliveries")
    op.drop_index("ix_daily_subscriptions_due", table_name="daily_subscriptions")
    op.drop_table("daily_subscriptions")
    op.rename_table("_new_daily_subscriptions", "daily_subscriptions")  # the deliveries' reference follows
    op.rename_table("_new_daily_deliveries", "daily_deliveries")
    op.create_index("ix_daily_subscriptions_due", "daily_subscriptions", ["status", "platform", "next_due"])
    op.create_index("ix_daily_deliveries_open", "daily_deliveries", ["status", "lease_until"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(("platform", "workspace", "channel"), NEW)
        return
    op.drop_constraint(OLD, "daily_subscriptions", type_="unique")
    op.create_unique_constraint(NEW, "daily_subscriptions", ["platform", "workspace", "channel"])


def downgrade() -> None:
    # Fails if one channel is subscribed from two workspaces: say which to keep first.
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(("platform", "channel"), OLD)
        return
    op.drop_constraint(NEW, "daily_subscriptions", type_="unique")
    op.create_unique_constraint(OLD, "daily_subscriptions", ["platform", "channel"])
