"""Benchmark: the daily-fact scheduler's own ceiling, without a network. N subscriptions due in
the same minute, the real scheduler and store (SQLite, and PostgreSQL when
CYTOBOT_TEST_POSTGRES_URL is set: a fresh database, dropped after), and an in-memory poster
that enforces a rate limit (over it, it answers RetryAfter and counts a violation).

Prints per backend: achieved rate as a share of the limit (goal >= 0.9), duplicates (goal 0),
misses (goal 0), violations, and this process's resident memory (current and peak).
The platform side (real posters against loopback fakes) is `bench.daily_fanout`.

Run: .venv/bin/python -m bench.daily_scheduler [--subscriptions 10000] [--limit 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import insert

from bench.progress import Progress
from bot.daily.delivery import PostOutcome, RetryAfter, Sent
from bot.daily.scheduler import Scheduler, SchedulerSettings
from bot.daily.service import fact_composer
from bot.daily.store import Store
from bot.daily.tables import subscriptions
from bot.engine import Engine
from bot.reply import Reply

UTC = timezone.utc


class LimitedPoster:
    """Accepts at most `limit` posts a second (a token bucket of one second's burst)."""

    platform = "bench"

    def __init__(self, limit: float):
        self.rate = limit
        self.limit = limit
        self.tokens = limit
        self.last = time.monotonic()
        self.posted: Counter[str] = Counter()
        self.violations = 0
        self.first = self.done = 0.0

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        now = time.monotonic()
        self.tokens = min(self.limit, self.tokens + (now - self.last) * self.limit)
        self.last = now
        if self.tokens < 1:
            self.violations += 1
            return RetryAfter(1.0 / self.limit, "rate limited")
        self.tokens -= 1
        self.first = self.first or now
        self.done = now
        self.posted[key] += 1
        return Sent(f"m{sum(self.posted.values())}")


def rss_mb() -> tuple[float, float]:
    with open("/proc/self/status") as status:
        current = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def seed(url: str, n: int) -> None:
    store = await Store.open(url)
    try:
        now = datetime.now(UTC)
        due = now.replace(second=0, microsecond=0)
        rows = [dict(platform="bench", workspace="", channel=f"c{i:06d}", post_time=due.strftime("%H:%M"), zone="UTC",
                     status="active", next_due=due, changed_by="bench", created_at=now, changed_at=now,
                     rotation_seed=i, rotation_cycle=0, rotation_done="[]") for i in range(n)]
        async with store.engine.begin() as conn:
            for start in range(0, n, 1000):
                await conn.execute(insert(subscriptions), rows[start : start + 1000])
    finally:
        await store.close()


async def run(label: str, url: str, n: int, limit: float) -> None:
    print(f"  [{label}] seeding {n:,} subscriptions...", file=sys.stderr, flush=True)
    await seed(url, n)
    store = await Store.open(url)
    engine = Engine.from_env()
    poster = LimitedPoster(limit)
    scheduler = Scheduler(store, {"bench": poster}, fact_composer(lambda: engine), lambda: engine.catalog.facts.keys(),
                          settings=SchedulerSettings(poll=1.0))
    started = time.monotonic()
    progress = Progress(label, n, unit="posted")
    progress.update(0)
    await scheduler.start()
    while len(poster.posted) < n and time.monotonic() - started < n / limit * 3 + 60:
        await asyncio.sleep(0.2)
        progress.update(len(poster.posted))
    progress.update(len(poster.posted), force=True)
    await scheduler.stop()
    counts = await store.counts()
    await store.close()
    span = max(poster.done - poster.first, 1e-9)
    achieved = (len(poster.posted) - 1) / span if len(poster.posted) > 1 else 0.0
    current, peak = rss_mb()
    print(f"{label:10} {n} subscriptions, limit {limit:g}/s: achieved {achieved:.1f}/s = {achieved / limit:.2f} of the limit; "
          f"duplicates {sum(c - 1 for c in poster.posted.values())}, misses {n - len(poster.posted)}, "
          f"violations {poster.violations}; rows sent {counts.get('deliveries.sent', 0)}; "
          f"RSS {current:.0f} MB (peak {peak:.0f} MB); wall {time.monotonic() - started:.1f}s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=50.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        await run("sqlite", f"sqlite:///{directory}/bench.db", args.subscriptions, args.limit)
    base = os.environ.get("CYTOBOT_TEST_POSTGRES_URL", "").strip()
    if base:
        from tests.postgres import fresh_database

        async with fresh_database(base) as url:
            await run("postgresql", url, args.subscriptions, args.limit)


if __name__ == "__main__":
    asyncio.run(main())
