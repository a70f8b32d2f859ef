"""Discord adapter latency: gateway dispatch to interaction callback, and autocomplete in-process.

Runs the real discord.py client against the loopback fake Discord (tests/fakes/discord_api.py):
  1. p50/p99 from sending INTERACTION_CREATE on the fake gateway to the callback arriving at
     the fake REST API, over mixed subcommands, autocompletes and share clicks (one at a time),
     then the same with 50 interactions in flight;
  2. p50/p99 of the autocomplete callback the client registers (engine.complete + Choice
     building), called in-process for typical prefixes.
Goals: dispatch-to-callback p99 < 50 ms, autocomplete p99 < 10 ms. Prints numbers; asserts nothing.

    .venv/bin/python -m bench.discord_interactions [N]
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord

from adapters.discord.client import build_client, point_discord_py_at
from adapters.discord.render import SHARE_PREFIX
from bot.engine import Engine
from tests.fakes.discord_api import FakeDiscord

CONTENT = Path(__file__).resolve().parents[1] / "content"
TOKEN = "test-token"

COMMANDS: list[tuple[int, str, dict[str, Any], str | None]] = [
    (2, "topic", {"query": "il-6"}, None),
    (2, "topic", {"query": "crs symptoms"}, None),
    (2, "compare", {"aspect": "severity"}, None),
    (2, "compare", {"left": "crs", "right": "cytokine-storm"}, None),
    (2, "search", {"words": "fever hypotension"}, None),
    (2, "fact", {"which": "today"}, None),
    (2, "list", {}, None),
    (2, "sources", {}, None),
    (2, "about", {}, None),
    (2, "help", {"command": "compare"}, None),
    (2, "compare", {"aspect": "severity", "public": True}, None),
    (4, "topic", {"query": "il6"}, "query"),
    (4, "compare", {"left": "crs", "right": "cytokine-storm", "aspect": "sev"}, "aspect"),
    (3, "", {}, None),  # share click
]
PREFIXES = ["", "i", "il", "il6", "crs", "cyt", "storm", "hlh", "sev", "tre", "xyz", "cytokine release"]


def _data(kind: int, sub: str, options: dict[str, Any], focused: str | None) -> dict[str, Any]:
    if kind == 3:
        return {"custom_id": SHARE_PREFIX + "compare crs cytokine-storm severity", "component_type": 2}
    opts = [{"name": k, "type": 5 if isinstance(v, bool) else 3, "value": v, **({"focused": True} if k == focused else {})}
            for k, v in options.items()]
    return {"id": "1", "name": "crs", "type": 1, "options": [{"name": sub, "type": 1, "options": opts}]}


def _pcts(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return f"n={len(ms)} p50={statistics.median(ms):.2f} ms p90={p(0.90):.2f} ms p99={p(0.99):.2f} ms max={ms[-1]:.2f} ms"


async def _one(fake: FakeDiscord, spec: tuple[int, str, dict[str, Any], str | None]) -> float:
    payload = fake.interaction(spec[0], _data(*spec))
    sent = time.perf_counter()
    waiter = await fake.send_interaction(payload)
    call = await asyncio.wait_for(waiter, 5)
    return call.at - sent


async def dispatch_bench(n: int) -> None:
    fake = await FakeDiscord().start()
    point_discord_py_at(fake.api_url, fake.gateway_url)
    engine = Engine.load(CONTENT)
    client = build_client(engine, sync=True, guild_ready_timeout=0.05)
    task = asyncio.create_task(client.start(TOKEN))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 10)
        specs = itertools.cycle(COMMANDS)
        for _ in range(50):  # warm-up
            await _one(fake, next(specs))
        serial: list[float] = []
        by_kind: dict[int, list[float]] = {}
        for _ in range(n):
            spec = next(specs)
            serial.append(await _one(fake, spec))
            by_kind.setdefault(spec[0], []).append(serial[-1])
        print(f"dispatch -> callback, one at a time:   {_pcts(serial)}")
        names = {2: "slash command", 3: "share click", 4: "autocomplete"}
        for kind, samples in sorted(by_kind.items()):
            print(f"  {names[kind]:<14}                      {_pcts(samples)}")
        concurrent: list[float] = []
        for _ in range(max(1, n // 50)):
            concurrent += await asyncio.gather(*(_one(fake, next(specs)) for _ in range(50)))
        print(f"dispatch -> callback, 50 in flight:    {_pcts(concurrent)}  (bursts of 50; fake and bot share one loop)")
        unanswered = [i for i in fake.dispatched if fake.answers(i) != 1]
        print(f"interactions: {len(fake.dispatched)}, not answered exactly once: {len(unanswered)}")
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)
        await fake.stop()


def autocomplete_bench(rounds: int) -> None:
    engine = Engine.load(CONTENT)
    client = build_client(engine)  # not started: only its registered callbacks are used
    group = client.group
    targets = [
        (group.get_command("topic"), "query", SimpleNamespace()),
        (group.get_command("compare"), "left", SimpleNamespace()),
        (group.get_command("compare"), "aspect", SimpleNamespace(left="crs", right="cytokine-storm")),
        (group.get_command("sources"), "id", SimpleNamespace()),
        (group.get_command("help"), "command", SimpleNamespace()),
    ]
    samples: list[float] = []
    loop = asyncio.new_event_loop()
    try:
        for _ in range(rounds):
            for command, option, namespace in targets:
                callback = command._params[option].autocomplete
                interaction = SimpleNamespace(namespace=namespace)
                for prefix in PREFIXES:
                    start = time.perf_counter()
                    coro = callback(interaction, prefix)
                    try:  # the callback never awaits: run it to completion without loop overhead
                        coro.send(None)
                    except StopIteration:
                        pass
                    samples.append(time.perf_counter() - start)
    finally:
        loop.close()
    print(f"autocomplete callback, in-process:     {_pcts(samples)}")


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 500
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    try:
        asyncio.run(dispatch_bench(n))
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
    autocomplete_bench(rounds=max(1, n // 10))
    print("goals: dispatch->callback p99 < 50 ms; autocomplete p99 < 10 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
