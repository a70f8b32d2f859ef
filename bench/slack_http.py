"""Benchmark: `/crs compare severity` over Slack HTTP mode, cytobot vs a bare bolt app.

Both apps run in one child process (same signing, same aiohttp server stack, same retry
handlers), the load generator and the fake Slack (auth.test, response_url) in this process,
all on 127.0.0.1. The bare app acks and responds with one fixed card, so the ratio shows
what the engine and the renderer cost on top of bolt. "bare" is served by `start_http`, like
cytobot, so both pay for the request checks in front of bolt (size, charset, signature);
"bolt" is the same bare app served by bolt's own aiohttp server (`AsyncSlackAppServer`, what
`app.start()` runs), with nothing of ours in front: cytobot/bolt is issue 19's ratio. Rounds
alternate between the apps so drift (CPU frequency, other load) hits all alike; the ratios
are also given per round (their median is steadier on a noisy machine), and so is the server's
CPU time per request. Goal (issues 10 and 19): cytobot reaches >= 0.95 of the bare app's and of
bolt's own throughput.
Bounded in requests and time.

    .venv/bin/python -m bench.slack_http [--workers 16] [--requests 40] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing as mp
import statistics
import sys
import time
from dataclasses import dataclass, field

import aiohttp

from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import SIGNING_SECRET, signed_headers, slash_command_body

BOT_TOKEN = "xoxb-bench"
TIME_LIMIT = 180.0  # seconds for the whole run


def _serve_both(api_url: str, conn: "mp.connection.Connection") -> None:
    """Child process: start cytobot's app and a bare app, report their ports, run until told."""

    async def main() -> None:
        import gc
        import logging

        from slack_bolt.async_app import AsyncApp

        from adapters.slack.app import build_app, web_client
        from adapters.slack.http import start_http
        from adapters.slack.render import render_message
        from bot.engine import Engine

        logging.disable(logging.WARNING)
        engine = Engine.from_env()
        fixed = render_message(engine.execute("compare severity"))  # same card, computed once

        bare = AsyncApp(client=web_client(BOT_TOKEN, api_url), signing_secret=SIGNING_SECRET)

        @bare.command("/crs")
        async def answer(ack, respond) -> None:  # type: ignore[no-untyped-def]
            await ack()
            await respond(**fixed, response_type="ephemeral")

        ours = build_app(engine, token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=api_url)
        servers = [await start_http(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET) for app in (ours, bare)]
        servers.append(await _plain_bolt_server(bare))
        # As `cytobot run` does once its pack is loaded (adapters.reload.settle): what is alive now
        # goes to the collector's permanent generation, so collections walk only what requests leave.
        gc.collect()
        gc.freeze()
        collecting = [0.0, 0.0]  # seconds spent in the cyclic collector, start of the current one

        def timed(phase: str, _info: dict) -> None:
            if phase == "start":
                collecting[1] = time.perf_counter()
            else:
                collecting[0] += time.perf_counter() - collecting[1]

        gc.callbacks.append(timed)
        conn.send([s.port for s in servers])
        loop = asyncio.get_running_loop()
        while (await loop.run_in_executor(None, conn.recv)) == "cpu":
            conn.send((time.process_time(), collecting[0]))  # CPU and GC seconds this process has used
        for s in servers:
            await s.close()

    asyncio.run(main())


async def _plain_bolt_server(app):  # type: ignore[no-untyped-def]
    """The bare app as bolt itself serves it: `AsyncSlackAppServer` (slack_bolt's aiohttp server,
    what `app.start()` runs), its own `web_app` and handler, with `web.run_app`'s defaults; only
    the port is picked by us (0: any free one) instead of `run_app`, which would block."""
    from aiohttp import web
    from slack_bolt.app.async_server import AsyncSlackAppServer

    from adapters.slack.http import EVENTS_PATH, HttpServer

    server = AsyncSlackAppServer(port=0, path=EVENTS_PATH, app=app, host="127.0.0.1")
    runner = web.AppRunner(server.web_app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, server.host, 0)
    await site.start()
    return HttpServer(runner, site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


@dataclass
class Stats:
    ack: list[float] = field(default_factory=list)
    done: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    cpu: float = 0.0  # server CPU seconds used during this app's rounds
    gc: float = 0.0  # of which in the cyclic garbage collector

    def line(self, name: str) -> str:
        n = len(self.done)
        rate = n / self.seconds if self.seconds else 0.0
        return (
            f"{name:8} {n:6d} req  {rate:8.1f} req/s   ack p50 {_pct(self.ack, 50):6.1f} ms  p99 {_pct(self.ack, 99):6.1f} ms"
            f"   reply p50 {_pct(self.done, 50):6.1f} ms  p99 {_pct(self.done, 99):6.1f} ms   errors {self.errors}"
        )

    def rate(self) -> float:
        return len(self.done) / self.seconds if self.seconds else 0.0


def _pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _round(url: str, fake: FakeSlack, session: aiohttp.ClientSession, workers: int, per_worker: int, ids: itertools.count, stats: Stats) -> None:
    loop = asyncio.get_running_loop()

    async def worker() -> None:
        for _ in range(per_worker):
            rid = f"b{next(ids)}"
            waiter: asyncio.Future[float] = loop.create_future()
            fake.response_waiters[rid] = waiter
            body = slash_command_body("compare severity", fake.response_url(rid))
            start = time.perf_counter()
            try:
                async with session.post(url, data=body.encode(), headers=signed_headers(body)) as resp:
                    await resp.read()
                    acked = time.perf_counter()
                    if resp.status != 200:
                        stats.errors += 1
                        continue
                answered = await asyncio.wait_for(waiter, 10)
            except (TimeoutError, aiohttp.ClientError):
                stats.errors += 1
                continue
            stats.ack.append(acked - start)
            stats.done.append(answered - start)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    stats.seconds += time.perf_counter() - begin


async def run(workers: int, per_worker: int, rounds: int) -> None:
    fake = await FakeSlack().start()
    fake.record = False
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_both, args=(fake.api_url, child), daemon=True)
    proc.start()
    try:
        ready = await asyncio.get_running_loop().run_in_executor(None, lambda: parent.poll(60) and parent.recv())
        if not ready:
            raise RuntimeError("bot process did not start")
        ours_port, bare_port, bolt_port = ready

        async def server_cpu() -> tuple[float, float]:
            parent.send("cpu")
            return await asyncio.get_running_loop().run_in_executor(None, parent.recv)

        urls = {
            "bare": f"http://127.0.0.1:{bare_port}/slack/events",  # the same server stack as cytobot's
            "cytobot": f"http://127.0.0.1:{ours_port}/slack/events",
            "bolt": f"http://127.0.0.1:{bolt_port}/slack/events",  # the bare app behind AsyncSlackAppServer
        }
        stats = {name: Stats() for name in urls}
        ids = itertools.count()
        pairs: list[float] = []
        cpu_rounds: dict[str, list[float]] = {name: [] for name in urls}
        plain: list[float] = []
        connector = aiohttp.TCPConnector(limit=workers * 2)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=15)) as session:
            for name, url in urls.items():  # warm-up: auth.test, imports, caches
                await _round(url, fake, session, 2, 5, ids, Stats())
            for number in range(rounds):
                # Alternate which app goes first, so neither always follows the other.
                order = list(urls.items()) if number % 2 == 0 else list(reversed(urls.items()))
                this = {name: Stats() for name in urls}
                for name, url in order:
                    cpu_before, gc_before = await server_cpu()
                    await _round(url, fake, session, workers, per_worker, ids, this[name])
                    cpu_after, gc_after = await server_cpu()
                    this[name].cpu, this[name].gc = cpu_after - cpu_before, gc_after - gc_before
                for name in urls:
                    stats[name].ack += this[name].ack
                    stats[name].done += this[name].done
                    stats[name].seconds += this[name].seconds
                    stats[name].errors += this[name].errors
                    stats[name].cpu += this[name].cpu
                    stats[name].gc += this[name].gc
                    cpu_rounds[name].append(this[name].cpu / len(this[name].done) if this[name].done else float("nan"))
                if this["bare"].rate() and this["bolt"].rate():
                    pairs.append(this["cytobot"].rate() / this["bare"].rate())
                    plain.append(this["cytobot"].rate() / this["bolt"].rate())
        print(f"Slack HTTP mode, /crs compare severity: {workers} workers x {per_worker} requests x {rounds} rounds per app, loopback")
        for name, s in stats.items():
            print(s.line(name))
        ratio = stats["cytobot"].rate() / stats["bare"].rate() if stats["bare"].rate() else float("nan")
        per = {name: 1e6 * s.cpu / len(s.done) if s.done else float("nan") for name, s in stats.items()}
        print(f"server CPU per request: bare {per['bare']:.0f} us, bolt {per['bolt']:.0f} us, cytobot {per['cytobot']:.0f} us "
              f"(bare/cytobot {per['bare'] / per['cytobot']:.2f}, bolt/cytobot {per['bolt'] / per['cytobot']:.2f}: "
              "the throughput ratios a CPU-bound server would reach)")
        gcs = {name: 1e6 * s.gc / len(s.done) if s.done else float("nan") for name, s in stats.items()}
        print(f"  of which garbage collection: bare {gcs['bare']:.0f} us, bolt {gcs['bolt']:.0f} us, cytobot {gcs['cytobot']:.0f} us")
        per_round = [b / c for b, c in zip(cpu_rounds["bolt"], cpu_rounds["cytobot"])]
        print(f"bolt/cytobot CPU per request, per round: {' '.join(f'{r:.2f}' for r in per_round)}; "
              f"median {statistics.median(per_round):.2f}")
        print(f"cytobot/bare per round: {' '.join(f'{r:.2f}' for r in pairs)}; median {statistics.median(pairs):.2f}")
        print(f"cytobot/bolt per round: {' '.join(f'{r:.2f}' for r in plain)}; median {statistics.median(plain):.2f}")
        bolt_ratio = stats["cytobot"].rate() / stats["bolt"].rate() if stats["bolt"].rate() else float("nan")
        print(f"throughput ratio cytobot/bare = {ratio:.2f}, cytobot/bolt = {bolt_ratio:.2f} (goal >= 0.95)")
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.slack_http")
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--requests", type=int, default=40, help="requests per worker per round")
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args(argv)
    asyncio.run(asyncio.wait_for(run(a.workers, min(a.requests, 1000), min(a.rounds, 20)), TIME_LIMIT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
