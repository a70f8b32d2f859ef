"""The daily-facts database failing under the store and the scheduler (issue 16, items 2, 3, 4,
7 and 10): a blackholed PostgreSQL behind the cuttable proxy times out instead of hanging, is
said once and counted by operation; a pass stops at the first failed claim and gives its pacing
slot back; a post's mark outlives an outage of the old retry budget; migration 0003 carries rows
and keys subscriptions by workspace; old deliveries are pruned in batches."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, time, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import insert, select, text

from adapters.observe import Metrics
from bot.daily import migrate
from bot.daily.clock import SYSTEM_CLOCK
from bot.daily.database import create_engine
from bot.daily.records import Outcome, Status
from bot.daily.scheduler import SchedulerSettings
from bot.daily.store import OtherWorkspace, Store
from bot.daily.tables import deliveries, subscriptions
from bot.commands.base import UserError
from bot.request import Caller
from tests.daily.conftest import RecordingPoster, StopClock, build, caller
from tests.fakes.tcp_proxy import TcpProxy

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def due_rows(store: Store, n: int, platform: str = "test") -> None:
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    rows = [dict(platform=platform, workspace="W1", channel=f"c{i:04d}", post_time=due.strftime("%H:%M"), zone="UTC",
                 status="active", next_due=due, changed_by="t", created_at=now, changed_at=now, rotation_seed=i,
                 rotation_cycle=0, rotation_done="[]") for i in range(n)]
    async with store.engine.begin() as conn:
        await conn.execute(insert(subscriptions), rows)


# ---------------------------------------------------------------- item 2: timeouts, health, metric

@pytest.mark.parametrize("mode", ["blackhole", "refuse"])
async def test_a_cut_database_fails_fast_is_said_once_and_counted_by_operation(
        postgres_url: str, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    proxy, url = await TcpProxy.before(postgres_url)
    store = await Store.open(url, timeouts=(1.0, 1.0))
    metrics = Metrics()
    store.health.on_error = metrics.store_error
    try:
        await store.ping()
        proxy.set(mode)  # type: ignore[arg-type]
        caplog.set_level(logging.INFO, logger="cytobot.daily")
        for _ in range(3):  # without timeouts the blackholed ping never returns (the test's timeout fails it)
            with pytest.raises(Exception):
                await store.ping()
        with pytest.raises(Exception):
            await store.counts()
        assert store.health.ok is False
        assert store.health.problem is not None and "cannot be reached" in store.health.problem
        expected = "no answer within 1 s" if mode == "blackhole" else "Connection"
        assert expected in store.health.problem
        exposition = metrics.exposition().decode()
        assert 'cytobot_daily_store_errors_total{operation="ping"} 3.0' in exposition
        assert 'cytobot_daily_store_errors_total{operation="counts"} 1.0' in exposition
        proxy.set("pass")
        await store.ping()
        assert store.health.ok is True and store.health.problem is None
        lines = [r.getMessage() for r in caplog.records if r.name == "cytobot.daily"]
        assert len([m for m in lines if "cannot be reached" in m]) == 1, lines  # once, not per failure
        assert len([m for m in lines if "answers again" in m]) == 1, lines
        assert not any(postgres_url.rpartition("/")[2] in m and "SELECT" in m for m in lines)  # no statements
    finally:
        await store.close()
        await proxy.stop()


# ---------------------------------------------------------------- item 3: the pass stops, the slot comes back

async def test_a_pass_stops_at_the_first_failed_claim(postgres_url: str) -> None:
    proxy, url = await TcpProxy.before(postgres_url)
    store = await Store.open(url, timeouts=(1.0, 1.0))
    await due_rows(store, 60)
    poster = RecordingPoster(SYSTEM_CLOCK, rate=20)
    daily = build(store, _catalog(), SYSTEM_CLOCK, poster=poster, settings=SchedulerSettings(poll=0.5, store_retry=30))
    try:
        await daily.scheduler.start()
        while len(poster.posts) < 5:
            await asyncio.sleep(0.01)
        proxy.set("refuse")
        while daily.scheduler.stats["store_errors"] == 0:  # the pass has ended, with an error
            await asyncio.sleep(0.01)
        # Before: the pass walked the other ~50 due posts at 20 a second, failing a claim each.
        assert store.health.errors["claim"] <= 2, store.health.errors
        assert daily.scheduler.problem is not None and "database" in daily.scheduler.problem
    finally:
        proxy.set("pass")
        await daily.stop()
        await store.close()
        await proxy.stop()


async def test_a_failed_claim_gives_its_pacing_slot_back(store: Store) -> None:
    clock = StopClock(T0)
    poster = RecordingPoster(clock, rate=1.0)  # one slot a second
    daily = build(store, _catalog(), clock, poster=poster, settings=SchedulerSettings(poll=3600, store_retry=0.0))
    await daily.service.subscribe(caller("c1"), time(9), "UTC")
    real_claim, failures = store.claim, []

    async def claim_failing_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not failures:
            failures.append(1)
            raise OSError("the database went away")
        return await real_claim(*args, **kwargs)

    store.claim = claim_failing_once  # type: ignore[method-assign]
    try:
        await daily.run_until(datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    finally:
        await daily.stop()
    assert failures == [1] and len(poster.posts) == 1
    # The failed claim used the 09:00:00 slot; given back, the retry posts in it (before: 09:00:01).
    assert poster.posts[0].at == datetime(2026, 3, 2, 9, tzinfo=UTC)


# ---------------------------------------------------------------- item 4: the mark outlives the outage

async def test_a_sent_post_is_marked_through_an_outage_longer_than_five_tries(store: Store) -> None:
    await due_rows(store, 1)
    poster = RecordingPoster(SYSTEM_CLOCK)
    settings = SchedulerSettings(poll=0.2, lease=timedelta(seconds=30), send_timeout=1, write_retry=0.01)
    daily = build(store, _catalog(), SYSTEM_CLOCK, poster=poster, settings=settings)
    real, failures = store.finish_sent, []

    async def finish_sent_during_outage(*args, **kwargs):  # type: ignore[no-untyped-def]
        if len(failures) < 9:  # the old code gave up after 5 tries and left the post to be resent
            failures.append(1)
            raise OSError("the database went away")
        return await real(*args, **kwargs)

    store.finish_sent = finish_sent_during_outage  # type: ignore[method-assign]
    try:
        await daily.scheduler.start()
        while (await store.counts()).get("deliveries.sent", 0) < 1:
            assert daily.scheduler.stats["record_errors"] == 0, "the mark was given up"
            await asyncio.sleep(0.02)
    finally:
        await daily.stop()
    assert len(failures) == 9 and len(poster.posts) == 1
    assert daily.scheduler.stats["write_retries"] == 9


# ---------------------------------------------------------------- item 7: by workspace

async def test_migration_0003_carries_rows_and_deliveries_and_keys_by_workspace(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(migrate._config(c), "0002"))
            await conn.execute(text(
                "INSERT INTO daily_subscriptions (id, platform, workspace, channel, post_time, zone, status, next_due, "
                "changed_by, created_at, changed_at, rotation_seed, rotation_cycle, rotation_done) VALUES "
                "(7, 'slack', 'T1', 'C1', '09:00', 'UTC', 'active', '2026-03-03 09:00:00', 'U1', '2026-03-01 00:00:00', "
                "'2026-03-01 00:00:00', 42, 0, '[]')"))
            await conn.execute(text(
                "INSERT INTO daily_deliveries (subscription_id, local_date, due_at, key, fact_id, status, attempts, "
                "claimed_at) VALUES (7, '2026-03-02', '2026-03-02 09:00:00', 'k1', 'f1', 'sent', 1, '2026-03-02 09:00:00')"))
        assert await migrate.upgrade(engine) == migrate.head() == "0003"
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT id, workspace, channel FROM daily_subscriptions"))).all() == [(7, "T1", "C1")]
            assert (await conn.execute(text("SELECT subscription_id, key FROM daily_deliveries"))).all() == [(7, "k1")]
    finally:
        await engine.dispose()
    store = await Store.open(db_url)
    try:
        now = datetime(2026, 3, 2, 10, tzinfo=UTC)
        with pytest.raises(OtherWorkspace):  # the channel is T1's while its subscription lives
            await store.subscribe(platform="slack", workspace="T2", channel="C1", at=time(8), zone="UTC", by="U9",
                                  now=now, seed=1)
        with pytest.raises(OtherWorkspace):
            await store.unsubscribe("slack", "C1", by="U9", now=now, workspace="T2")
        assert (await store.get("slack", "C1", "T1")).status is Status.ACTIVE  # type: ignore[union-attr]
        assert await store.unsubscribe("slack", "C1", by="U1", now=now, workspace="T1")
        # Once T1 stopped, T2 may have its own subscription of the shared channel: a row of its own.
        mine = await store.subscribe(platform="slack", workspace="T2", channel="C1", at=time(8), zone="UTC", by="U9",
                                     now=now, seed=1)
        assert mine.workspace == "T2" and mine.id != 7
        assert (await store.get("slack", "C1", "T1")).status is Status.STOPPED  # type: ignore[union-attr]
        assert len(await store.deliveries_of(7)) == 1  # the first workspace's history stays
    finally:
        await store.close()


async def test_the_service_refuses_another_workspace_in_words(store: Store) -> None:
    daily = build(store, _catalog(), StopClock(T0))
    await daily.service.subscribe(caller("C1"), time(9), "UTC")  # workspace W1
    intruder = Caller(platform="test", workspace="W2", channel="C1", user_id="U2", display_name="x", may_manage=True,
                      managers="admins")
    for change in (daily.service.subscribe(intruder, time(7), "UTC"), daily.service.unsubscribe(intruder),
                   daily.service.resume(intruder)):
        with pytest.raises(UserError) as refused:
            await change
        assert "another workspace" in refused.value.message
    sub = await store.get("test", "C1", "W1")
    assert sub is not None and sub.status is Status.ACTIVE and sub.at == time(9)


# ---------------------------------------------------------------- item 10: pruning

async def test_old_deliveries_are_pruned_in_batches_keeping_the_newest_and_open_ones(store: Store) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    sub = await store.subscribe(platform="test", workspace="W1", channel="c1", at=time(9), zone="UTC", by="t",
                                now=now - timedelta(days=90), seed=1)
    old = await store.subscribe(platform="test", workspace="W1", channel="c2", at=time(9), zone="UTC", by="t",
                                now=now - timedelta(days=90), seed=2)
    rows = []
    for day in range(60):  # c1: a row a day for 60 days, up to yesterday
        when = datetime.combine(date(2026, 4, 2) + timedelta(days=day), time(9), UTC)
        rows.append(dict(subscription_id=sub.id, local_date=when.date(), due_at=when, key=f"k{day}", fact_id="f",
                         status="claimed" if day == 3 else "sent", attempts=1, claimed_at=when))
    long_ago = datetime(2026, 3, 1, 9, tzinfo=UTC)  # c2: one post, long ago: its newest, kept for `daily status`
    rows.append(dict(subscription_id=old.id, local_date=long_ago.date(), due_at=long_ago, key="kold", fact_id="f",
                     status="sent", attempts=1, claimed_at=long_ago))
    async with store.engine.begin() as conn:
        await conn.execute(insert(deliveries), rows)
    clock = StopClock(now)
    daily = build(store, _catalog(), clock, settings=SchedulerSettings(prune_batch=7, retention=timedelta(days=7)))
    pruned = await daily.scheduler.prune()
    cutoff = now - timedelta(hours=6) - timedelta(days=7)
    async with store.engine.connect() as conn:
        left = (await conn.execute(select(deliveries.c.subscription_id, deliveries.c.due_at, deliveries.c.status))).all()
    kept_c1 = [r for r in left if r.subscription_id == sub.id]
    assert all(r.due_at.replace(tzinfo=UTC) >= cutoff or r.status == Outcome.CLAIMED.value for r in kept_c1)
    assert len([r for r in kept_c1 if r.status == Outcome.CLAIMED.value]) == 1  # an open claim is never pruned
    assert [r.subscription_id for r in left if r.subscription_id == old.id] == [old.id]
    assert pruned == 61 - len(left) and pruned > 7  # more than one batch
    assert (await store.last_delivery(old.id)) is not None


def _catalog():  # type: ignore[no-untyped-def]
    from bot.catalog import Catalog
    from bot.loader import bundled_content_dir, load_pack

    global _CATALOG
    if _CATALOG is None:
        _CATALOG = Catalog(load_pack(bundled_content_dir()))
    return _CATALOG


_CATALOG = None
