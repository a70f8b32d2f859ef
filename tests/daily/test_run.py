"""Daily facts inside `cytobot run`: the scheduler as a runner component (ready, metrics, drain
with a post in flight), `/crs daily` over Slack against the running process, and a database a
newer cytobot migrated stopping the start with one line."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from sqlalchemy import text

from adapters.daily import open_daily
from adapters.daily_component import DailyComponent
from adapters.inflight import Inflight
from adapters.observe import Metrics
from adapters.run import Runner
from bot.catalog import Catalog
from bot.daily.clock import SYSTEM_CLOCK
from bot.daily.store import Status, Store
from bot.engine import Engine
from tests.daily.conftest import RecordingPoster
from tests.fakes.bot_process import BotProcess, platform_env
from tests.fakes.slack_api import FakeSlack

UTC = timezone.utc


async def test_the_scheduler_runs_as_a_component_with_metrics_and_a_drain(sqlite_url: str, catalog: Catalog) -> None:
    store = await Store.open(sqlite_url)
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    for i in range(6):
        await store.subscribe(platform="test", workspace="", channel=f"c{i}", at=due.time(), zone="UTC", by="t",
                              now=now - timedelta(minutes=3), seed=i)
    await store.close()
    metrics = Metrics()
    engine = Engine(catalog)
    daily = await open_daily(lambda: engine, {}, url=sqlite_url, observer=metrics)
    slow = RecordingPoster(SYSTEM_CLOCK, delay=lambda ch: 0.6 if ch == "c5" else 0.0, rate=20)
    inflight = Inflight()
    component = DailyComponent(daily, {"test": slow}, drain_seconds=5, inflight=inflight)
    runner = Runner([component], drain_seconds=5, inflight=inflight)
    running = asyncio.create_task(runner.run())
    try:
        while "c5" not in slow.started:
            await asyncio.sleep(0.005)
        assert await component.check() is None  # ready
        assert inflight.count == 1 and len(slow.posts) == 5
        runner.stop()  # SIGTERM while c5's post is in flight
        assert await asyncio.wait_for(running, 20) == 0
    finally:
        if not running.done():
            running.cancel()
    assert sorted(p.channel for p in slow.posts) == [f"c{i}" for i in range(6)]  # the one in flight finished
    assert await component.check() == "daily facts: draining"
    exposition = metrics.exposition().decode()
    assert 'cytobot_daily_posts_total{outcome="sent",platform="test"} 6.0' in exposition
    assert 'cytobot_daily_post_lag_seconds_count{platform="test"} 6.0' in exposition
    store = await Store.open(sqlite_url)
    try:
        assert (await store.counts())["deliveries.sent"] == 6
    finally:
        await store.close()


async def test_daily_over_slack_in_cytobot_run(tmp_path: Path) -> None:
    slack = await FakeSlack().start()
    url = f"sqlite:///{tmp_path}/run.db"
    env = platform_env(slack, None) | {"CYTOBOT_DATABASE_URL": url, "CYTOBOT_SLACK_ADMINS": "U111"}
    bot = await BotProcess.start(env, cwd=tmp_path, args=("run",))
    try:
        assert (await bot.wait_until("/readyz")).strip() == "ready"
        assert await bot.slash(slack, "daily subscribe 9am berlin", "r1") == 200
        await slack.wait_for(lambda f: len(f.responses()) >= 1, timeout=20)
        shown = json.dumps(slack.responses()[0].body)
        assert "Daily facts are on" in shown and "09:00 Europe/Berlin" in shown
        # Someone who is neither an admin (the fake's users.info says so) nor listed is refused.
        body_user = "U999"
        from tests.fakes.slack_signing import signed_headers, slash_command_body

        body = slash_command_body("daily unsubscribe", slack.response_url("r2"), user_id=body_user)
        assert await bot.post("/slack/events", body, signed_headers(body)) == 200
        await slack.wait_for(lambda f: len(f.responses()) >= 2, timeout=20)
        assert "Not allowed" in json.dumps(slack.responses()[1].body)
    finally:
        await bot.close()
        await slack.stop()
    store = await Store.open(url)
    try:
        sub = await store.get("slack", "C123")
        assert sub is not None and sub.status is Status.ACTIVE and (sub.at, sub.zone) == (time(9), "Europe/Berlin")
    finally:
        await store.close()


async def test_cytobot_run_refuses_a_newer_database_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/newer.db"
    store = await Store.open(url)
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    await store.close()
    bot = await BotProcess.start({"CYTOBOT_DATABASE_URL": url}, cwd=tmp_path, args=("run",))
    try:
        code = await bot.wait(timeout=60)
    finally:
        await bot.close()
    assert code == 1
    assert "from_the_future" in bot.output and "newer cytobot" in bot.output and "Traceback" not in bot.output
