"""`DatabaseSeen` on real SQLite and real PostgreSQL: replicas racing on one event key (exactly
one wins), `forget` letting a retry through, pruning now and then, and a database that cannot
be used (unreachable, missing its table, locked past the timeout) never costing an answer."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.daily.clock import SteppingClock
from bot.daily.database import create_engine
from bot.daily.seen import DatabaseSeen, stored_key
from bot.daily.store import Store
from bot.daily.tables import seen_events
from tests.conftest import FIXED_NOW

Replicas = Callable[[int], list[AsyncEngine]]


@pytest.fixture
async def replicas(db_url: str) -> AsyncIterator[Replicas]:
    """`replicas(n)`: n engines (n connection pools, as n processes would have) on one migrated database."""
    await (await Store.open(db_url)).close()  # migrate, as `cytobot run` does at start
    made: list[AsyncEngine] = []

    def make(n: int) -> list[AsyncEngine]:
        made.extend(create_engine(db_url) for _ in range(n))
        return made[-n:]

    yield make
    for engine in made:
        await engine.dispose()


async def rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(seen_events))).scalar_one()


async def test_replicas_racing_on_the_same_keys_let_exactly_one_through(replicas: Replicas) -> None:
    seen = [DatabaseSeen(engine) for engine in replicas(2)]
    keys = [f"T1:C123:1700000000.{i:06d}" for i in range(25)]
    # Every key delivered twice to each replica, all at once, in a random order.
    attempts = [(key, replica) for key in keys for replica in (0, 1, 0, 1)]
    random.Random(11).shuffle(attempts)
    results = await asyncio.gather(*(seen[replica].first_time(key) for key, replica in attempts))
    for key in keys:
        assert sum(won for (k, _), won in zip(attempts, results, strict=True) if k == key) == 1, key
    assert not await seen[0].first_time(keys[0]) and not await seen[1].first_time(keys[-1])
    assert await rows(seen[0].engine) == len(keys)


async def test_forget_lets_a_retry_through_on_any_replica(replicas: Replicas) -> None:
    first, second = (DatabaseSeen(engine) for engine in replicas(2))
    key = "T1:D42:1700000300.000100"
    assert await first.first_time(key)
    assert not await second.first_time(key)  # Slack's retry reached the other replica
    await first.forget(key)  # the answer never reached the user
    assert await second.first_time(key)  # so the next retry is answered...
    assert not await first.first_time(key)  # ...once
    # Keys longer than the column are stored as their hash, and stay distinct.
    long_a, long_b = "T1:C1:" + "a" * 400 + "1", "T1:C1:" + "a" * 400 + "2"
    assert stored_key(long_a) != stored_key(long_b) and len(stored_key(long_a)) < 255
    assert await first.first_time(long_a) and await second.first_time(long_b)
    assert not await second.first_time(long_a)


async def test_old_keys_are_pruned_now_and_then_not_on_every_call(replicas: Replicas) -> None:
    clock = SteppingClock(FIXED_NOW)
    [engine] = replicas(1)
    seen = DatabaseSeen(engine, ttl=60, prune_every=300, clock=clock)
    assert await seen.first_time("a")  # t=0: the first call prunes (nothing yet); next prune due at t=300
    clock.advance(120)
    assert await seen.first_time("b")  # t=120: "a" is past its minute, but no prune is due
    assert await rows(engine) == 2
    clock.advance(200)
    assert await seen.first_time("c")  # t=320: the prune removes what is older than t=260
    async with engine.connect() as conn:
        assert (await conn.execute(select(seen_events.c.key))).scalars().all() == ["c"]
        [seen_at] = (await conn.execute(select(seen_events.c.seen_at))).scalars().all()
    assert seen_at == FIXED_NOW + timedelta(seconds=320)  # stored as the UTC instant it was seen
    assert not await seen.first_time("c")


@pytest.mark.parametrize("url", ["postgresql://nobody:secret-pw@127.0.0.1:9/none", "sqlite:///{tmp}"])
async def test_an_unreachable_database_answers_and_logs_one_line_each_time(url: str, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(url.format(tmp=tmp_path))  # port 9 refuses; a directory is no SQLite file
    seen = DatabaseSeen(engine, timeout=10)
    try:
        with caplog.at_level("DEBUG", logger="cytobot.seen"):
            assert await seen.first_time("T1:C1:1.1")
            assert await seen.first_time("T1:C1:1.1")  # nothing was recorded: answered again, not dropped
            await seen.forget("T1:C1:1.1")  # and forgetting does not raise either
    finally:
        await engine.dispose()
    lines = [r for r in caplog.records if r.name == "cytobot.seen"]
    assert [r.levelname for r in lines] == ["WARNING"] * 3
    assert all("answering without checking" in r.getMessage() for r in lines[:2])
    assert "secret-pw" not in caplog.text and "Traceback" not in caplog.text


async def test_a_database_without_the_table_answers(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path}/never-migrated.db")
    try:
        with caplog.at_level("WARNING", logger="cytobot.seen"):
            assert await DatabaseSeen(engine).first_time("k")
    finally:
        await engine.dispose()
    assert "no such table: seen_events" in caplog.text


async def test_a_database_locked_past_the_timeout_answers_then_recovers(replicas: Replicas, caplog) -> None:  # type: ignore[no-untyped-def]
    holder, engine = replicas(2)
    seen = DatabaseSeen(engine, timeout=0.3)
    async with holder.connect() as conn:
        transaction = await conn.begin()  # another replica mid-insert of the same key (SQLite: its write lock)
        await conn.execute(seen_events.insert().values(key="T1:C1:2.2", seen_at=FIXED_NOW))
        with caplog.at_level("WARNING", logger="cytobot.seen"):
            started = time.monotonic()
            assert await seen.first_time("T1:C1:2.2")  # waited 0.3 s, then answered
            waited = time.monotonic() - started
        await transaction.rollback()
    assert waited < 5, waited  # not SQLite's 30-second busy timeout
    assert "TimeoutError" in caplog.text
    # The insert went on unwatched and went in once the lock was released: its record counts.
    deadline = time.monotonic() + 10
    while await rows(engine) == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert not await seen.first_time("T1:C1:2.2")
    assert await seen.first_time("T1:C1:2.3") and await rows(engine) == 2  # and the engine works as before
