"""Real `cytobot` processes: killed with SIGKILL in the middle of a fan-out and restarted, two of
them sharing one PostgreSQL over 2,000 subscriptions, and the console printing a due post.

The processes run `cytobot console` with the TEST-ONLY recording poster
(CYTOBOT_TEST_ONLY_POSTER_FILE: each post is a JSON line; like Discord's nonce it refuses a key
twice) and TEST-ONLY scheduler settings (CYTOBOT_TEST_ONLY_SCHEDULER: a lease of seconds, not
minutes). Process, store and scheduler are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time as wall
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from bot.daily.store import Store
from bot.daily.tables import subscriptions
from tests.postgres import fresh_database, require_base_url

CYTOBOT = [sys.executable, "-m", "adapters.cli"]
UTC = timezone.utc
TEST_SETTINGS = json.dumps({"lease": 3, "send_timeout": 1, "poll": 0.5, "batch": 200})


async def due_now(url: str, n: int) -> None:
    """`n` console-platform subscriptions whose post was due a minute ago (inside the window)."""
    store = await Store.open(url)
    try:
        now = datetime.now(UTC)
        due = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
        rows = [dict(platform="console", workspace="", channel=f"c{i:05d}", post_time=due.strftime("%H:%M"), zone="UTC",
                     status="active", next_due=due, changed_by="test", created_at=now, changed_at=now,
                     rotation_seed=i, rotation_cycle=0, rotation_done="[]") for i in range(n)]
        async with store.engine.begin() as conn:
            await conn.execute(insert(subscriptions), rows)
    finally:
        await store.close()


def start(url: str, log: Path, rate: float, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CYTOBOT_DATABASE_URL": url, "CYTOBOT_TEST_ONLY_POSTER_FILE": str(log),
           "CYTOBOT_TEST_ONLY_POSTER_RATE": str(rate), "CYTOBOT_TEST_ONLY_SCHEDULER": TEST_SETTINGS,
           "CYTOBOT_HISTORY_FILE": str(tmp / "history")}
    # stdin stays open: the console waits for input while its scheduler posts.
    return subprocess.Popen([*CYTOBOT, "console"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=open(tmp / f"stderr-{log.name}", "ab"), env=env, cwd=tmp)


def events(*logs: Path) -> list[dict]:
    out = []
    for log in logs:
        if log.exists():
            for line in log.read_text().splitlines():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # the last line of a killed process may be cut short
    return out


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll `condition` (run it in a thread from async tests: it may use asyncio.run)."""
    deadline = wall.monotonic() + timeout
    while not condition():
        if wall.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        wall.sleep(0.05)


async def sent_count(url: str) -> dict[str, int]:
    store = await Store.open(url)
    try:
        return await store.counts()
    finally:
        await store.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=20)


async def test_sigkill_mid_fan_out_then_restart_posts_everything_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cytobot.db"
    n = 400
    await due_now(url, n)
    log = tmp_path / "posts.jsonl"
    first = start(url, log, rate=100, tmp=tmp_path)
    try:
        await asyncio.to_thread(wait_for, lambda: sum(e["event"] == "post" for e in events(log)) >= 80, 60, "the fan-out to start")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
    finally:
        stop(first)
    killed_at = sum(e["event"] == "post" for e in events(log))
    assert killed_at < n, "the kill came after the fan-out finished"
    counts = await sent_count(url)
    in_flight = counts.get("deliveries.claimed", 0)  # claimed by the dead process, unfinished

    second = start(url, log, rate=400, tmp=tmp_path)
    try:
        await asyncio.to_thread(wait_for, lambda: asyncio.run(sent_count(url)).get("deliveries.sent", 0) == n, 90,
                                "every post to be recorded")
    finally:
        stop(second)
    posted = Counter(e["key"] for e in events(log) if e["event"] == "post")
    assert len(posted) == n and set(posted.values()) == {1}, "each (subscription, day) posted exactly once"
    deduplicated = [e for e in events(log) if e["event"] == "deduplicated"]
    # Resends happen only for claims the dead process held: sent but not yet marked, with the same key.
    assert len(deduplicated) <= in_flight
    counts = await sent_count(url)
    assert counts == {"deliveries.sent": n, "subscriptions.active": n}  # nothing lost, nothing missed


async def test_two_processes_on_one_postgres_post_2000_subscriptions_exactly_once(tmp_path: Path) -> None:
    async with fresh_database(require_base_url()) as url:
        n = 2000
        await due_now(url, n)
        logs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
        processes = [start(url, log, rate=250, tmp=tmp_path) for log in logs]
        try:
            await asyncio.to_thread(wait_for, lambda: sum(e["event"] == "post" for e in events(*logs)) >= n, 120, "2,000 posts")
            await asyncio.to_thread(wait_for, lambda: asyncio.run(sent_count(url)).get("deliveries.sent", 0) == n, 60,
                                    "every post to be recorded")
        finally:
            for process in processes:
                stop(process)
        posted = Counter(e["key"] for e in events(*logs) if e["event"] == "post")
        assert len(posted) == n and set(posted.values()) == {1}, "a subscription was posted twice"
        shares = [sum(e["event"] == "post" for e in events(log)) for log in logs]
        assert all(shares), f"both processes took part: {shares}"
        assert not [e for e in events(*logs) if e["event"] == "deduplicated"]


def test_the_console_prints_a_due_post_between_prompts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cytobot.db"
    asyncio.run(due_now(url, 1))
    env = {**os.environ, "CYTOBOT_DATABASE_URL": url, "COLUMNS": "100", "CYTOBOT_HISTORY_FILE": str(tmp_path / "h")}
    env.pop("CYTOBOT_TEST_ONLY_POSTER_FILE", None)
    console = subprocess.Popen([*CYTOBOT, "console"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        wait_for(lambda: asyncio.run(sent_count(url)).get("deliveries.sent", 0) == 1, 60, "the post")
        out, err = console.communicate(b"daily status\nquit\n", timeout=60)
    finally:
        stop(console)
    shown = " ".join(out.decode().replace("│", " ").split())
    assert console.returncode == 0, err.decode()
    assert "Daily fact for c00000" in shown and "Did you know?" in shown and "not medical advice" in shown
    assert shown.index("Did you know?") < shown.index("No daily facts here")  # the console channel has none
