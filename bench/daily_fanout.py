"""Benchmark: a daily-fact fan-out of N subscriptions due in the same minute, against a loopback
fake of Slack or Discord that enforces a rate limit.

The fake runs in a child process (so the resident memory measured here is the bot's, not the
fake's) with a token-bucket limiter: `--limit` posts per second across channels (Discord's
real limit is 50/s; Slack's workspace-wide limit is unpublished, so the same number is used)
plus, on Slack, one post per second per channel. Over the limit the fake answers 429 with
Retry-After, as the platforms do, and counts the violation. The real posters
(`adapters/*/poster.py`) talk to it through the real slack_sdk / discord.py clients, with
`rate` set to the fake's limit.

Prints, per platform: achieved rate as a share of the limit (goal >= 0.9), duplicates (goal 0),
misses (goal 0), 429s provoked, and the bot process's resident memory (current and peak).

Modes:
  --mode posters    the platform side alone: the posters driven by a plain pacer at `rate`
                    (no database, no scheduler): the ceiling the posters and fakes allow.
  --mode scheduler  the real scheduler (bot/daily/scheduler.py) over a fresh SQLite store
                    with N subscriptions due in the same minute.

    .venv/bin/python -m bench.daily_fanout [--platform slack|discord|both] [--subscriptions 10000]
                                           [--limit 50] [--mode scheduler|posters]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.progress import Progress
from bot.daily.delivery import Poster, RetryAfter
from bot.reply import Reply

SLACK_TOKEN = "xoxb-bench"
DISCORD_TOKEN = "bench-token"
TIME_LIMIT = 1800.0  # seconds for one platform's fan-out before the run is called off
FIRST_DISCORD_CHANNEL = 1_100_000_000_000_100_000


# --- the fake, in its own process ------------------------------------------------------------
def _serve_fake(platform: str, limit: float, conn: Any) -> None:
    """Child process: one fake with a limiter; answers "stats" with what it saw, "stop" to end."""

    async def main() -> None:
        from tests.fakes.ratelimit import RateLimiter

        logging.disable(logging.WARNING)
        if platform == "slack":
            from tests.fakes.slack_api import FakeSlack

            fake: Any = await FakeSlack().start()
            fake.limiter = RateLimiter(global_rate=limit, channel_rate=1.0, channel_burst=1.0)
            url = fake.api_url
        else:
            from tests.fakes.discord_api import FakeDiscord

            fake = await FakeDiscord(token=DISCORD_TOKEN).start()
            fake.limiter = RateLimiter(global_rate=limit)
            url = fake.api_url
        fake.record = False  # keep the fake's memory flat; it still counts posts per channel
        conn.send(url)
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                break
            limiter = fake.limiter
            conn.send({"posted": dict(fake.posted), "violations": limiter.violations, "accepted": limiter.accepted,
                       "achieved": limiter.achieved_rate(), "nonce_hits": getattr(fake, "nonce_hits", 0)})
        await fake.stop()

    asyncio.run(main())


@dataclass
class FakeProcess:
    process: Any
    conn: Any
    url: str

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(10)


def start_fake(platform: str, limit: float) -> FakeProcess:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve_fake, args=(platform, limit, child), daemon=True)
    process.start()
    return FakeProcess(process, parent, parent.recv())


# --- the posters -----------------------------------------------------------------------------
async def make_poster(platform: str, url: str, rate: float) -> tuple[Poster, Callable[[], Awaitable[None]]]:
    """The real poster for `platform`, pointed at the fake; returns it and its closer."""
    if platform == "slack":
        from adapters.slack.app import web_client
        from adapters.slack.poster import SlackPoster

        slack = SlackPoster(web_client(SLACK_TOKEN, url), rate=rate)
        return slack, slack.aclose

    import discord

    from adapters.discord.client import point_discord_py_at
    from adapters.discord.poster import DiscordPoster

    point_discord_py_at(url)
    client = discord.Client(intents=discord.Intents.none())
    await client.login(DISCORD_TOKEN)
    poster = DiscordPoster(client, rate=rate)

    async def close() -> None:
        await poster.aclose()
        await client.close()

    return poster, close


def channels_for(platform: str, n: int) -> list[str]:
    if platform == "slack":
        return [f"C{i:08d}" for i in range(n)]
    return [str(FIRST_DISCORD_CHANNEL + i) for i in range(n)]


# --- mode "posters": a plain pacer, no scheduler ---------------------------------------------
async def pace(poster: Poster, channels: Sequence[str], reply: Reply, deadline: float) -> Counter[str]:
    """Start one post every 1/rate seconds; a RetryAfter puts the post back after its wait."""
    outcomes: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    due: asyncio.Queue[str] = asyncio.Queue()
    for channel in channels:
        due.put_nowait(channel)
    done = asyncio.Event()
    remaining = len(channels)
    interval = 1.0 / poster.rate
    tasks: set[asyncio.Task[None]] = set()

    async def one(channel: str) -> None:
        nonlocal remaining
        outcome = await poster.post(channel, reply, key=f"bench:{channel}")
        outcomes[type(outcome).__name__] += 1
        if isinstance(outcome, RetryAfter):
            loop.call_later(outcome.seconds, due.put_nowait, channel)
            return
        remaining -= 1
        if remaining == 0:
            done.set()

    next_start = loop.time()
    progress = Progress(poster.platform, len(channels), unit="posted")
    progress.update(0)
    while not done.is_set() and loop.time() < deadline:
        progress.update(len(channels) - remaining)
        try:
            channel = await asyncio.wait_for(due.get(), timeout=0.5)
        except asyncio.TimeoutError:
            continue
        delay = next_start - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        next_start = max(next_start + interval, loop.time() - interval)  # no catch-up burst after a pause
        task = asyncio.create_task(one(channel))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    progress.update(len(channels) - remaining, force=True)
    return outcomes


# --- mode "scheduler": the real core ---------------------------------------------------------
class ShiftedClock:
    """The system clock moved by `offset`, so N subscriptions can be due a second after start
    without waiting for a real 09:00; time then runs at its real pace (pacing, leases)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


async def run_scheduler(platform: str, poster: Poster, channels: Sequence[str], deadline: float,
                        engine: Any, db_url: str) -> tuple[Counter[str], dict[str, float]]:
    """Seed one subscription per channel, all at the same local minute, then run the real
    scheduler (store on SQLite) until every post has an outcome or the deadline passes."""
    from bot.daily.scheduler import SchedulerSettings
    from bot.daily.service import DailyFacts

    clock = ShiftedClock()
    facts = await DailyFacts.open(lambda: engine, {platform: poster}, url=db_url, clock=clock, settings=SchedulerSettings())
    timings: dict[str, float] = {}
    try:
        due = (clock.now() + timedelta(minutes=2)).replace(second=0, microsecond=0)
        seeding = time.perf_counter()
        seeded = Progress(f"{platform}: seeding", len(channels), unit="subscriptions")
        for i, channel in enumerate(channels):
            seeded.update(i)
            await facts.store.subscribe(platform=platform, workspace="bench", channel=channel, at=due.time(), zone="UTC",
                                        by="bench", now=clock.now(), seed=i)
        timings["seeding"] = time.perf_counter() - seeding
        clock.offset += due - clock.now() - timedelta(seconds=1)  # the minute starts in one second
        timings["rss_seeded"] = resident_kib()[0]
        await facts.start()
        loop = asyncio.get_running_loop()
        counts: dict[str, int] = {}
        progress = Progress(platform, len(channels), unit="posts with an outcome")
        while loop.time() < deadline:
            counts = await facts.store.counts()
            finished = sum(v for k, v in counts.items() if k.startswith("deliveries.") and k != "deliveries.claimed")
            progress.update(finished, force=finished >= len(channels))
            if finished >= len(channels):
                break
            await asyncio.sleep(0.5)
        timings["rss_peak_run"] = resident_kib()[1]
        stats = dict(facts.scheduler.stats)
    finally:
        await facts.close(30)
    return Counter({**counts, **{f"scheduler.{k}": v for k, v in stats.items()}}), timings


# --- measuring -------------------------------------------------------------------------------
def resident_kib() -> tuple[int, int]:
    """(current, peak) resident set size of this process in KiB, from /proc/self/status."""
    values = {"VmRSS": 0, "VmHWM": 0}
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in values:
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


async def one_platform(platform: str, n: int, limit: float, mode: str) -> dict[str, Any]:
    from bot.engine import Engine

    fake = start_fake(platform, limit)
    try:
        poster, close = await make_poster(platform, fake.url, limit)
        try:
            engine = Engine.from_env()
            reply = engine.execute("fact", public=True)
            channels = channels_for(platform, n)
            rss_before, _ = resident_kib()
            started = time.perf_counter()
            deadline = asyncio.get_running_loop().time() + TIME_LIMIT
            timings: dict[str, float] = {}
            if mode == "posters":
                outcomes = await pace(poster, channels, reply, deadline)
            else:
                with TemporaryDirectory(prefix="cytobot-bench-") as tmp:
                    outcomes, timings = await run_scheduler(platform, poster, channels, deadline, engine,
                                                            f"sqlite:///{Path(tmp) / 'daily.db'}")
            elapsed = time.perf_counter() - started - timings.get("seeding", 0.0)
            rss_after, rss_peak = resident_kib()
        finally:
            await close()
        stats = fake.stats()
    finally:
        fake.stop()
    posted: dict[str, int] = stats["posted"]
    return {
        "platform": platform, "mode": mode, "subscriptions": n, "limit": limit, "elapsed": elapsed,
        "achieved": stats["achieved"], "share": stats["achieved"] / limit if limit else 0.0,
        "duplicates": sum(c - 1 for c in posted.values() if c > 1),
        "misses": sum(1 for ch in channels if posted.get(ch, 0) == 0),
        "violations": stats["violations"], "nonce_hits": stats["nonce_hits"], "outcomes": dict(outcomes),
        "rss_before_mib": rss_before / 1024, "rss_after_mib": rss_after / 1024, "rss_peak_mib": rss_peak / 1024,
        "seeding": timings.get("seeding"), "rss_seeded_mib": timings.get("rss_seeded", 0) / 1024,
    }


def report(r: dict[str, Any]) -> None:
    print(f"{r['platform']:8} mode={r['mode']} subscriptions={r['subscriptions']} limit={r['limit']:g}/s")
    print(f"  achieved {r['achieved']:.2f}/s = {r['share']:.3f} of the limit (goal >= 0.9) in {r['elapsed']:.1f} s")
    print(f"  duplicates {r['duplicates']} (goal 0), misses {r['misses']} (goal 0), 429s provoked {r['violations']}, "
          f"resends answered by nonce {r['nonce_hits']}")
    print(f"  outcomes {r['outcomes']}")
    if r["seeding"] is not None:
        print(f"  seeding {r['subscriptions']} subscriptions took {r['seeding']:.1f} s (not in the time above); "
              f"resident memory once seeded, before the scheduler started: {r['rss_seeded_mib']:.1f} MiB")
    print(f"  resident memory: {r['rss_before_mib']:.1f} MiB before, {r['rss_after_mib']:.1f} MiB after, "
          f"peak {r['rss_peak_mib']:.1f} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.daily_fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=("slack", "discord", "both"), default="both")
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=50.0, help="posts per second the fake accepts (default 50)")
    parser.add_argument("--mode", choices=("scheduler", "posters"), default="scheduler")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    platforms = ("slack", "discord") if args.platform == "both" else (args.platform,)
    for platform in platforms:
        report(asyncio.run(one_platform(platform, args.subscriptions, args.limit, args.mode)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
