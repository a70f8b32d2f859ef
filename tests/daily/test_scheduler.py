"""The scheduler with the real store (SQLite, and PostgreSQL when configured): exactly-once with
two schedulers, catch-up, leases, pauses, retries, pacing, reloads and draining."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import text, update

from bot.catalog import Catalog
from bot.daily.clock import SYSTEM_CLOCK
from bot.daily.delivery import Permanent, RetryAfter, Scope
from bot.daily.scheduler import Scheduler, SchedulerSettings
from bot.daily.service import fact_composer
from bot.daily.store import Outcome, Status, Store
from bot.daily.tables import platform_pauses, subscriptions
from bot.engine import Engine
from tests.daily.conftest import RecordingPoster, StopClock, caller

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # a Monday morning, before 09:00 in Berlin and London
ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]


async def subscribe_many(daily, n: int, at: time = time(9), zones=ZONES) -> list[str]:
    channels = [f"C{i:04d}" for i in range(n)]
    for i, channel in enumerate(channels):
        await daily.service.subscribe(caller(channel), at, zones[i % len(zones)])
    return channels


async def test_two_schedulers_on_one_database_post_each_day_exactly_once(db_url: str, catalog: Catalog, make_daily) -> None:
    a_store, b_store = await Store.open(db_url), await Store.open(db_url)
    clock = StopClock(T0)
    try:
        a = make_daily(a_store, clock, holder="replica-a")
        b = make_daily(b_store, clock, poster=RecordingPoster(clock), holder="replica-b")
        channels = await subscribe_many(a, 120)
        end = T0 + timedelta(days=3)
        clock.end = end
        await a.scheduler.start()
        await b.scheduler.start()
        await asyncio.wait_for(clock.reached.wait(), 120)  # both asleep, nothing due before the end
        await a.stop()
        await b.stop()
        posts = a.poster.posts + b.poster.posts
        keys = [p.key for p in posts]
        assert len(keys) == len(set(keys)), "a (subscription, day) was posted twice"
        per_channel: dict[str, int] = {}
        for p in posts:
            per_channel[p.channel] = per_channel.get(p.channel, 0) + 1
        assert per_channel == {c: 3 for c in channels}  # three days, once each
        assert a.poster.posts and b.poster.posts, "both replicas took part"
        counts = await a_store.counts()
        assert counts["deliveries.sent"] == 360 and "deliveries.claimed" not in counts
    finally:
        await a_store.close()
        await b_store.close()


async def test_catch_up_posts_late_inside_the_window_and_records_older_as_missed(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    daily = make_daily(store, clock)
    await daily.service.subscribe(caller("late"), time(9), "UTC")  # due 09:00 UTC
    await daily.service.subscribe(caller("old"), time(2), "UTC")  # due 02:00 UTC tomorrow
    await daily.service.subscribe(caller("ancient"), time(7), "UTC")  # due 07:00 UTC today
    # The bot is down from Monday 06:00 until Tuesday 13:30. Each channel's Monday post is more than
    # 6 h late: recorded missed. Tuesday's 09:00 is 4.5 h late: it goes out at once; Tuesday's
    # 02:00 (11.5 h) and 07:00 (6.5 h) are outside the window: one missed row each, no burst.
    clock.set(T0 + timedelta(days=1, hours=7, minutes=30))
    restart = clock.now()
    await daily.run_until(restart + timedelta(days=2))
    posts = {c: [p.at for p in daily.poster.posts if p.channel == c] for c in ("late", "old", "ancient")}
    assert timedelta(0) <= posts["late"][0] - restart < timedelta(seconds=1)  # went out late, at once
    assert posts["late"][1:] == [datetime(2026, 3, 4, 9, tzinfo=UTC), datetime(2026, 3, 5, 9, tzinfo=UTC)]
    assert posts["old"] == [datetime(2026, 3, 4, 2, tzinfo=UTC), datetime(2026, 3, 5, 2, tzinfo=UTC)]  # never late
    assert posts["ancient"] == [datetime(2026, 3, 4, 7, tzinfo=UTC), datetime(2026, 3, 5, 7, tzinfo=UTC)]  # no burst
    for channel, missed in (("old", 1), ("ancient", 1), ("late", 1)):
        sub = await store.get("test", channel)
        rows = await store.deliveries_of(sub.id)  # type: ignore[union-attr]
        assert sum(r.status is Outcome.MISSED for r in rows) == missed
        assert all(r.status in (Outcome.SENT, Outcome.MISSED) for r in rows)
    status = await daily.service.status(caller("ancient"))
    assert status is not None and status.last is not None and status.last.status is Outcome.SENT


async def test_a_claim_whose_holder_died_is_taken_over_with_the_same_key(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    daily = make_daily(store, clock, settings=SchedulerSettings(poll=86400, lease=timedelta(minutes=2)))
    await daily.service.subscribe(caller("c1"), time(9), "UTC")
    clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
    sub = await store.get("test", "c1")
    claim = await store.claim(sub, now=clock.now(), holder="dead-process", lease=timedelta(minutes=2),  # type: ignore[arg-type]
                              catch_up=timedelta(hours=6), facts=catalog.facts.keys())
    dead = claim.delivery
    assert claim.outcome is Outcome.CLAIMED and dead is not None
    # A second claim of the same day is impossible, whoever tries.
    again = await store.claim(sub, now=clock.now(), holder="x", lease=timedelta(minutes=2),  # type: ignore[arg-type]
                              catch_up=timedelta(hours=6), facts=catalog.facts.keys())
    assert again.delivery is None and again.outcome is Outcome.SENT
    await daily.run_until(datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert len(daily.poster.posts) == 1
    post = daily.poster.posts[0]
    assert post.key == dead.key and post.fact_id == dead.fact_id
    assert post.at == dead.lease_until  # not before the lease ran out
    row = (await store.deliveries_of(dead.subscription_id))[0]
    assert row.status is Outcome.SENT and row.attempts == 2 and row.message_id == post.message_id
    assert daily.scheduler.stats["taken_over"] == 1


async def test_permanent_errors_pause_the_channel_once_and_resume_works(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    broken = {"gone"}
    poster = RecordingPoster(clock, script=lambda ch, _n: Permanent("channel_not_found") if ch in broken else None)
    daily = make_daily(store, clock, poster=poster)
    await daily.service.subscribe(caller("gone"), time(9), "UTC")
    await daily.service.subscribe(caller("fine"), time(9), "UTC")
    await daily.run_until(T0 + timedelta(days=3))
    gone_calls = [c for c in poster.calls if c[0] == "gone"]
    assert len(gone_calls) == 1, "a permanent error is never retried"
    assert [p.channel for p in poster.posts] == ["fine"] * 3
    sub = await store.get("test", "gone")
    assert sub is not None and sub.status is Status.PAUSED and sub.pause_reason == "channel_not_found"
    status = await daily.service.status(caller("gone"))
    assert status is not None and status.next_post is None and status.last.status is Outcome.PAUSED  # type: ignore[union-attr]
    # Someone fixes the channel and resumes: the next post is at the usual time, and only then.
    broken.clear()
    resumed = await daily.service.resume(caller("gone"))
    assert resumed.channel_resumed and not resumed.platform_resumed
    await daily.run_until(clock.now() + timedelta(days=2))
    assert [p.at.date() for p in poster.posts if p.channel == "gone"] == [datetime(2026, 3, 5).date(), datetime(2026, 3, 6).date()]


async def test_resume_inside_the_window_sends_the_post_the_pause_stopped(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    broken = {"c"}
    poster = RecordingPoster(clock, script=lambda ch, _n: Permanent("not_in_channel") if ch in broken else None)
    daily = make_daily(store, clock, poster=poster)
    await daily.service.subscribe(caller("c"), time(9), "UTC")
    await daily.run_until(datetime(2026, 3, 2, 10, tzinfo=UTC))
    broken.clear()
    await daily.service.resume(caller("c"))  # an hour after the failed post
    await daily.run_until(datetime(2026, 3, 2, 11, tzinfo=UTC))
    assert [p.at for p in poster.posts] == [datetime(2026, 3, 2, 10, tzinfo=UTC)]
    assert len({key for _, key, _ in poster.calls}) == 1  # the same day, the same key


async def test_a_platform_error_pauses_the_platform_not_each_channel(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    revoked = [True]
    poster = RecordingPoster(clock, script=lambda _ch, _n: Permanent("token_revoked", Scope.PLATFORM) if revoked[0] else None)
    daily = make_daily(store, clock, poster=poster)
    channels = await subscribe_many(daily, 8, zones=["UTC"])
    await daily.run_until(datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert len(poster.calls) == 1, "one refused request, then the platform waits"
    assert (await store.platform_pauses())["test"].reason == "token_revoked"
    for channel in channels:
        sub = await store.get("test", channel)
        assert sub is not None and sub.status is Status.ACTIVE  # the channels themselves are fine
        status = await daily.service.status(caller(channel))
        assert status is not None and status.platform_pause is not None
    # The token is replaced and someone resumes: every post of the day goes out (inside the window).
    revoked[0] = False
    resumed = await daily.service.resume(caller(channels[0]))
    assert resumed.platform_resumed
    await daily.run_until(datetime(2026, 3, 2, 13, tzinfo=UTC))
    assert sorted(p.channel for p in poster.posts) == channels
    assert {p.key for p in poster.posts} >= {poster.calls[0][1]}  # the refused one was resent with its key


async def test_transient_errors_retry_with_bounded_backoff_inside_the_window(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)

    def script(channel: str, attempt: int):  # type: ignore[no-untyped-def]
        if channel == "flaky" and attempt <= 3:
            return RetryAfter(30, "ratelimited")
        if channel == "down":
            return RetryAfter(1, "HTTP 503")
        return None

    poster = RecordingPoster(clock, script=script)
    settings = SchedulerSettings(poll=86400, max_attempts=6, backoff=60, backoff_cap=600)
    daily = make_daily(store, clock, poster=poster, settings=settings)
    await daily.service.subscribe(caller("flaky"), time(9), "UTC")
    await daily.service.subscribe(caller("down"), time(9, 5), "UTC")
    await daily.run_until(datetime(2026, 3, 2, 20, tzinfo=UTC))
    flaky = [c for c in poster.calls if c[0] == "flaky"]
    assert len(flaky) == 4 and len([p for p in poster.posts if p.channel == "flaky"]) == 1
    down = [c for c in poster.calls if c[0] == "down"]
    assert len(down) == settings.max_attempts, "bounded, never a loop"
    sub = await store.get("test", "down")
    row = (await store.deliveries_of(sub.id))[0]  # type: ignore[union-attr]
    assert row.status is Outcome.FAILED and "6 attempt" in (row.detail or "") and "HTTP 503" in (row.detail or "")
    # Retries wait longer each time (60 s, 120 s, 240 s, ...), and never beyond the window.
    sub_flaky = await store.get("test", "flaky")
    assert (await store.deliveries_of(sub_flaky.id))[0].attempts == 4  # type: ignore[union-attr]


async def test_retry_after_holds_the_whole_platform(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    called_at: list[tuple[str, datetime]] = []

    def script(channel: str, attempt: int):  # type: ignore[no-untyped-def]
        called_at.append((channel, clock.now()))
        return RetryAfter(45, "ratelimited") if channel == "C0000" and attempt == 1 else None

    poster = RecordingPoster(clock, script=script, rate=5)
    daily = make_daily(store, clock, poster=poster)
    await subscribe_many(daily, 4, zones=["UTC"])
    await daily.run_until(datetime(2026, 3, 2, 10, tzinfo=UTC))
    first = called_at[0][1]
    assert called_at[0][0] == "C0000"
    assert all(at >= first + timedelta(seconds=45) for _, at in called_at[1:]), "nothing sent while told to wait"
    assert len(poster.posts) == 4


async def test_a_popular_minute_is_spread_at_the_platform_rate(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    poster = RecordingPoster(clock, rate=10)
    daily = make_daily(store, clock, poster=poster)
    await subscribe_many(daily, 40, zones=["UTC"])
    await daily.run_until(datetime(2026, 3, 2, 10, tzinfo=UTC))
    times = sorted(p.at for p in poster.posts)
    assert len(times) == 40
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.1 - 1e-6  # 10 a second, never a burst
    assert (times[-1] - times[0]).total_seconds() < 4.0 + 0.5  # and no slower than the rate


async def test_a_slow_channel_never_holds_up_the_others(sqlite_url: str, catalog: Catalog) -> None:
    """Real clock: one channel hangs, the rest go out at once; the hanging send times out."""
    store = await Store.open(sqlite_url)
    try:
        poster = RecordingPoster(SYSTEM_CLOCK, delay=lambda ch: 30.0 if ch == "slow" else 0.0)
        engine = Engine(catalog)
        settings = SchedulerSettings(send_timeout=1.0, lease=timedelta(seconds=5), concurrency=4, poll=0.2)
        scheduler = Scheduler(store, {"test": poster}, fact_composer(lambda: engine), lambda: catalog.facts.keys(),
                              settings=settings)
        now = datetime.now(UTC)
        due = (now - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
        for channel in ["slow"] + [f"fast{i}" for i in range(30)]:
            await store.subscribe(platform="test", workspace="", channel=channel, at=due, zone="UTC", by="t",
                                  now=now - timedelta(minutes=2), seed=random.getrandbits(40))
        started = asyncio.get_running_loop().time()
        await scheduler.start()
        while len(poster.posts) < 30 and asyncio.get_running_loop().time() - started < 20:
            await asyncio.sleep(0.02)
        elapsed = asyncio.get_running_loop().time() - started
        assert len(poster.posts) == 30 and elapsed < 5, f"{len(poster.posts)} posts after {elapsed:.1f}s"
        while scheduler.stats["timeouts"] == 0 and asyncio.get_running_loop().time() - started < 20:
            await asyncio.sleep(0.05)
        await scheduler.stop(timeout=5)
        assert scheduler.stats["timeouts"] == 1
        slow = await store.get("test", "slow")
        row = (await store.deliveries_of(slow.id))[0]  # type: ignore[union-attr]
        assert row.status is Outcome.CLAIMED and row.holder is None and "no answer within 1s" in (row.detail or "")
    finally:
        await store.close()


async def test_stop_drains_sends_in_flight_and_claims_nothing_new(sqlite_url: str, catalog: Catalog) -> None:
    store = await Store.open(sqlite_url)
    try:
        poster = RecordingPoster(SYSTEM_CLOCK, delay=lambda ch: 0.5, rate=4)
        engine = Engine(catalog)
        scheduler = Scheduler(store, {"test": poster}, fact_composer(lambda: engine), lambda: catalog.facts.keys(),
                              settings=SchedulerSettings(poll=0.2))
        now = datetime.now(UTC)
        due = (now - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
        for i in range(20):
            await store.subscribe(platform="test", workspace="", channel=f"c{i}", at=due, zone="UTC", by="t",
                                  now=now - timedelta(minutes=2), seed=i)
        await scheduler.start()
        assert scheduler.ready
        while scheduler.stats["claimed"] < 2:
            await asyncio.sleep(0.01)
        await scheduler.stop(timeout=10)
        assert not scheduler.ready and not scheduler.running
        counts = await store.counts()
        claimed = scheduler.stats["claimed"]
        assert 2 <= claimed < 20
        assert counts["deliveries.sent"] == claimed == len(poster.posts)  # every claim finished, none left open
        assert "deliveries.claimed" not in counts
    finally:
        await store.close()


async def test_a_reload_removing_the_claimed_fact_posts_another_and_keeps_the_cycle(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    current = {"engine": Engine(catalog)}
    facts = lambda: current["engine"].catalog.facts.keys()  # noqa: E731
    poster = RecordingPoster(clock)
    daily = make_daily(store, clock, poster=poster, facts=facts)
    daily.scheduler.compose = fact_composer(lambda: current["engine"])
    await daily.service.subscribe(caller("c"), time(9), "UTC")
    await daily.run_until(datetime(2026, 3, 2, 10, tzinfo=UTC))
    nxt = await daily.service.preview(caller("c"))
    # Reload a pack without the next fact: the post of the day is another fact, from the same cycle.
    pack = dataclasses.replace(catalog.pack, facts=tuple(f for f in catalog.pack.facts if f.id != nxt))
    current["engine"] = Engine(Catalog(pack))
    await daily.run_until(datetime(2026, 3, 3, 10, tzinfo=UTC))
    posted = [p.fact_id for p in poster.posts]
    assert len(posted) == 2 and nxt not in posted and len(set(posted)) == 2
    status = await daily.service.status(caller("c"))
    assert status is not None and status.facts_left == len(pack.facts) - 2


async def test_a_subscription_whose_zone_vanished_is_paused_not_looped(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(T0)
    daily = make_daily(store, clock)
    await daily.service.subscribe(caller("c"), time(9), "UTC")
    async with store.engine.begin() as conn:  # as if the system's zone database lost the zone
        await conn.execute(update(subscriptions).values(zone="Atlantis/Capital"))
    await daily.run_until(datetime(2026, 3, 3, 10, tzinfo=UTC))
    sub = await store.get("test", "c")
    assert sub is not None and sub.status is Status.PAUSED and "Atlantis/Capital" in (sub.pause_reason or "")
    assert not daily.poster.calls


async def test_unsubscribing_before_a_dead_holders_post_went_out_skips_it(store: Store, catalog: Catalog, make_daily) -> None:
    clock = StopClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    daily = make_daily(store, clock)
    await daily.service.subscribe(caller("c"), time(9, 30), "UTC")
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    sub = await store.get("test", "c")
    dead = (await store.claim(sub, now=clock.now(), holder="dead", lease=timedelta(minutes=2),  # type: ignore[arg-type]
                              catch_up=timedelta(hours=6), facts=catalog.facts.keys())).delivery
    assert await daily.service.unsubscribe(caller("c"))
    await daily.run_until(datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert not daily.poster.calls
    row = (await store.deliveries_of(dead.subscription_id))[0]  # type: ignore[union-attr]
    assert row.status is Outcome.SKIPPED and "stopped" in (row.detail or "")


def test_catch_up_setting() -> None:
    from bot.daily.scheduler import SettingsError, parse_duration

    assert parse_duration("6h") == timedelta(hours=6) and parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1h30m") == timedelta(minutes=90) and parse_duration("3600") == timedelta(hours=1)
    assert SchedulerSettings.from_env({"CYTOBOT_DAILY_CATCH_UP": "45m"}).catch_up == timedelta(minutes=45)
    assert SchedulerSettings.from_env({}).catch_up == timedelta(hours=6)
    for bad in ("banana", "6 hours", "-1h", "0"):
        try:
            SchedulerSettings.from_env({"CYTOBOT_DAILY_CATCH_UP": bad})
        except SettingsError as exc:
            assert "CYTOBOT_DAILY_CATCH_UP" in str(exc)
        else:
            raise AssertionError(f"{bad!r} accepted")


async def test_readiness_says_why_not(sqlite_url: str, catalog: Catalog) -> None:
    store = await Store.open(sqlite_url)
    try:
        poster = RecordingPoster(SYSTEM_CLOCK)
        engine = Engine(catalog)
        scheduler = Scheduler(store, {"test": poster}, fact_composer(lambda: engine), lambda: catalog.facts.keys(),
                              settings=SchedulerSettings(poll=0.05, store_retry=0.05))
        assert not scheduler.ready and "not started" in (scheduler.problem or "")
        await scheduler.start()
        assert scheduler.ready and scheduler.problem is None
        # The store starts failing for real: a table it reads disappears (as after a bad restore).
        async with store.engine.begin() as conn:
            await conn.execute(text("DROP TABLE daily_platform_pauses"))
        for _ in range(200):
            if not scheduler.ready:
                break
            await asyncio.sleep(0.02)
        assert not scheduler.ready and "database" in (scheduler.problem or "")
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda sync: platform_pauses.create(sync))
        for _ in range(200):
            if scheduler.ready:
                break
            await asyncio.sleep(0.02)
        assert scheduler.ready  # back once the store answers again
        await scheduler.drain()
        assert not scheduler.ready and scheduler.problem == "daily facts: draining"
        await scheduler.stop()
    finally:
        await store.close()
