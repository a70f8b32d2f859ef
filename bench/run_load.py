"""`cytobot run` under load, on loopback (issue 10): run by hand, prints numbers.

1. Ack latency: a real `cytobot run` process serves the generated 10,000-topic pack in Slack
   HTTP mode against the loopback fake of Slack's Web API. 1,000 signed slash commands are sent
   at concurrency 50 while the pack is reloaded again and again (SIGHUP as soon as the previous
   reload finished): every command must be acknowledged within Slack's 3 s. Prints max and
   p99 ack latency, how many were answered through response_url, and how many reloads
   completed during the run.
2. Memory: `cytobot run` with both adapters (Slack HTTP mode and Discord, both against the
   fakes) on the bundled pack, after a few commands on each: resident set size (goal < 150 MB).

Run: .venv/bin/python -m bench.run_load [--commands 1000] [--concurrency 50] [--topics 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.core import generate_pack
from tests.fakes.bot_process import DISCORD_TOKEN, BotProcess, interaction, platform_env
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import signed_headers, slash_command_body

ACK_LIMIT = 3.0
LINES = ("compare severity", "topic t{n}", "search fever hypotension", "fact today", "topic crs symptoms", "about",
         "search cytokine storm therapy", "topic t{n} s2")


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident set size now and at its peak, from /proc (MB)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def _reload_forever(bot: BotProcess, stop: asyncio.Event, done: list[int]) -> None:
    """SIGHUP, wait until that reload is counted, again: the pack is being reloaded all along."""
    while not stop.is_set():
        before = await bot.metric("cytobot_content_reloads_total", outcome="loaded")
        bot.signal(signal.SIGHUP)
        while not stop.is_set() and await bot.metric("cytobot_content_reloads_total", outcome="loaded") <= before:
            await asyncio.sleep(0.05)
        done.append(1)


async def ack_latency(commands: int, concurrency: int, topics: int, reload: bool = True, pack: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if pack is None:
            pack = Path(tmp) / "pack"
            pack.mkdir()
            t0 = time.perf_counter()
            generate_pack(pack, topics)
            print(f"generated a {topics:,}-topic pack in {time.perf_counter() - t0:.1f} s")
        slack = await FakeSlack().start()
        slack.record = False
        env = platform_env(slack, None) | {"CYTOBOT_CONTENT_DIR": str(pack), "CYTOBOT_CONTENT_POLL_SECONDS": "0",
                                           "CYTOBOT_LOG_LEVEL": "WARNING"}
        t0 = time.perf_counter()
        bot = await BotProcess.start(env, cwd=Path(tmp))
        try:
            await bot.wait_until("/readyz", timeout=120)
            print(f"`cytobot run` ready on the {topics:,}-topic pack in {time.perf_counter() - t0:.1f} s")
            url = bot.url + "/slack/events"
            rng = random.Random(5)
            queue = [rng.choice(LINES).format(n=rng.randrange(topics)) for _ in range(commands)]
            ids = itertools.count()
            acks: list[float] = []
            answered: list[asyncio.Future[float]] = []
            failures = 0
            stop = asyncio.Event()
            reloads: list[int] = []
            connector = aiohttp.TCPConnector(limit=concurrency * 2)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

                async def worker() -> None:
                    nonlocal failures
                    while queue:
                        line = queue.pop()
                        rid = f"r{next(ids)}"
                        waiter = asyncio.get_running_loop().create_future()
                        slack.response_waiters[rid] = waiter
                        answered.append(waiter)
                        body = slash_command_body(line, slack.response_url(rid))
                        start = time.perf_counter()
                        async with session.post(url, data=body.encode(), headers=signed_headers(body)) as resp:
                            await resp.read()
                            if resp.status != 200:
                                failures += 1
                        acks.append(time.perf_counter() - start)

                reloader = asyncio.create_task(_reload_forever(bot, stop, reloads) if reload else stop.wait())
                await asyncio.sleep(0.2)  # the first reload is under way before the first command
                t0 = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                elapsed = time.perf_counter() - t0
                stop.set()
                await reloader
            done, _ = await asyncio.wait(answered, timeout=30)
            ordered = sorted(acks)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            print(f"{len(acks)} slash commands at concurrency {concurrency} in {elapsed:.1f} s "
                  + (f"while the pack reloaded (completed reloads during the run: {len(reloads)})" if reload else "(no reload)"))
            print(f"  ack latency: p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                  f"max {ordered[-1] * 1000:.0f} ms; over {ACK_LIMIT:.0f} s: {sum(a > ACK_LIMIT for a in acks)}; "
                  f"non-200: {failures}")
            print(f"  answered through response_url: {len(done)} of {len(answered)}")
            now, peak = rss_mb(bot.proc.pid)
            print(f"  resident memory of that process: {now:.0f} MB now, {peak:.0f} MB peak (two 10k packs during a swap)")
            bot.signal(signal.SIGTERM)
            print(f"  exit code after SIGTERM: {await bot.wait(60)}")
        finally:
            await bot.close()
            await slack.stop()


async def memory() -> None:
    slack, discord = await FakeSlack().start(), await FakeDiscord(token=DISCORD_TOKEN).start()
    with tempfile.TemporaryDirectory() as tmp:
        bot = await BotProcess.start(platform_env(slack, discord) | {"CYTOBOT_LOG_LEVEL": "WARNING"}, cwd=Path(tmp))
        try:
            await bot.wait_until("/readyz", timeout=60)
            for i, line in enumerate(LINES * 5):
                body = slash_command_body(line.format(n=1), slack.response_url(f"m{i}"))
                await bot.post("/slack/events", body, signed_headers(body))
                await discord.interact(interaction(discord, "search", {"query": "fever"}))
            await slack.wait_for(lambda f: len(f.responses()) == len(LINES) * 5, timeout=30)
            await asyncio.sleep(0.5)
            now, peak = rss_mb(bot.proc.pid)
            metric = await bot.metric("process_resident_memory_bytes") / 2**20
            print(f"`cytobot run`, Slack HTTP mode + Discord, bundled pack, after {len(LINES) * 10} commands: "
                  f"resident memory {now:.0f} MB (peak {peak:.0f} MB; /metrics says {metric:.0f} MB), goal < 150 MB")
            bot.signal(signal.SIGTERM)
            await bot.wait(30)
        finally:
            await bot.close()
            await slack.stop()
            await discord.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run_load")
    p.add_argument("--commands", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--topics", type=int, default=10_000)
    p.add_argument("--no-reload", action="store_true", help="the same load without reloads, for comparison")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--pack", type=Path, help="use this generated pack instead of generating one (--topics is then ignored)")
    a = p.parse_args(argv)
    print(f"python {sys.version.split()[0]}")
    asyncio.run(ack_latency(a.commands, a.concurrency, a.topics, reload=not a.no_reload, pack=a.pack))
    if not a.skip_memory:
        asyncio.run(memory())
    return 0


if __name__ == "__main__":
    sys.exit(main())
