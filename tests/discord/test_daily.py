"""Daily facts on Discord end to end: INTERACTION_CREATE through the real discord.py client, the
real scheduler and store (SQLite), the Discord poster, and the loopback fake Discord.

Time is moved by hand (`ManualClock`), so a post falls due exactly when a test says and a
429's wait ends when the test moves past it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.daily import running_daily
from adapters.discord.client import build_client, point_discord_py_at
from adapters.discord.poster import DiscordPoster, nonce_for
from bot.daily.scheduler import SchedulerSettings
from bot.daily.store import Status
from tests.discord.conftest import TOKEN, _wait_ready
from tests.fakes.clock import ManualClock, eventually, sent_delivery, subscription_in
from tests.fakes.discord_api import CHANNEL_ID, FakeDiscord, error_answer, rate_limited

APPLICATION_COMMAND = 2
POSTER = (1 << 10) | (1 << 11) | (1 << 14)  # View Channel, Send Messages, Embed Links
MANAGER = POSTER | (1 << 4)  # and Manage Channels
CHANNEL = str(CHANNEL_ID)
BEFORE = datetime(2026, 10, 25, 6, 59, 30, tzinfo=timezone.utc)
DUE = datetime(2026, 10, 25, 7, 0, 0, tzinfo=timezone.utc)  # 08:00 in Europe/Berlin, the day its clocks go back


@dataclass
class Daily:
    fake: FakeDiscord
    daily: Any
    clock: ManualClock

    async def command(self, action: str, permissions: int = MANAGER, **options: str) -> dict[str, Any]:
        """`/crs daily action:<action> …` from a member with `permissions` here; returns the answer's data."""
        opts = [{"name": "action", "type": 3, "value": action}] + [
            {"name": k, "type": 3, "value": v} for k, v in options.items()]
        data = {"id": "1400000000000000009", "name": "crs", "type": 1,
                "options": [{"name": "daily", "type": 1, "options": opts}]}
        call = await self.fake.interact(self.fake.interaction(APPLICATION_COMMAND, data, permissions=str(permissions)))
        return call.body["data"]

    async def subscription(self) -> Any:
        return await self.daily.store.get("discord", CHANNEL)

    def posts(self) -> list[Any]:
        return self.fake.channel_posts(CHANNEL)

    async def due(self, at: datetime = DUE) -> None:
        self.clock.set(at)
        self.daily.scheduler.wake()


@pytest.fixture
async def daily(engine: Any, tmp_path: Path) -> AsyncIterator[Daily]:
    logging.getLogger("discord").setLevel(logging.WARNING)
    fake = await FakeDiscord(token=TOKEN).start()
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    point_discord_py_at(fake.api_url, fake.gateway_url)
    clock = ManualClock(BEFORE)
    try:
        async with running_daily(engine, {}, url=f"sqlite:///{tmp_path}/daily.db", clock=clock,
                                 settings=SchedulerSettings(), drain_timeout=5) as (wired, facts):
            client = build_client(wired, guild_ready_timeout=0.05)
            await client.login(TOKEN)  # the poster posts through the logged-in client, as in `cytobot run`
            poster = DiscordPoster(client)
            await facts.scheduler.attach("discord", poster)
            task = asyncio.create_task(client.connect())
            try:
                await _wait_ready(client, task, timeout=10)
                yield Daily(fake, facts, clock)
            finally:
                await facts.scheduler.stop(5)
                await poster.aclose()
                await client.close()
                await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 5)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        await fake.stop()


async def test_a_member_without_manage_channels_cannot_subscribe_a_manager_can(daily: Daily) -> None:
    refused = json.dumps(await daily.command("subscribe", permissions=POSTER, time="08:00", zone="Europe/Berlin"))
    assert "Not allowed" in refused and "Manage Channels" in refused
    assert await daily.subscription() is None
    accepted = json.dumps(await daily.command("subscribe", permissions=MANAGER, time="08:00", zone="Europe/Berlin"))
    assert "Daily facts are on" in accepted
    sub = await daily.subscription()
    assert sub is not None and sub.status is Status.ACTIVE and sub.zone == "Europe/Berlin"
    assert "Daily facts: on" in json.dumps(await daily.command("status", permissions=POSTER))


async def test_the_scheduled_fact_reaches_discord_once_with_the_days_nonce(daily: Daily) -> None:
    await daily.command("subscribe", time="08:00", zone="Europe/Berlin")
    sub = await daily.subscription()
    await daily.due()
    [post] = await eventually(daily.posts, what="the post")
    delivery = await eventually(lambda: sent_delivery(daily.daily.store, sub.id), what="the post recorded as sent")
    assert post.body["nonce"] == nonce_for(delivery.key) and post.body["enforce_nonce"] is True
    assert post.body["allowed_mentions"] == {"parse": []} and "components" not in post.body
    assert delivery.message_id and delivery.message_id.isdigit()
    daily.clock.advance(3600)  # the repeated hour of the fall-back night: no second post
    daily.daily.scheduler.wake()
    await daily.command("status")
    assert len(daily.posts()) == 1 and daily.fake.posted[CHANNEL] == 1


async def test_missing_permissions_pause_with_the_reason_and_resume(daily: Daily) -> None:
    daily.fake.fail_channel(CHANNEL, error_answer(50013), sticky=True)
    await daily.command("subscribe", time="08:00", zone="Europe/Berlin")
    await daily.due()
    sub = await eventually(lambda: subscription_in(daily.daily.store, "discord", CHANNEL, Status.PAUSED), what="the pause")
    assert "Send Messages" in sub.pause_reason and "50013" in sub.pause_reason
    status = json.dumps(await daily.command("status", permissions=POSTER))
    assert "Daily facts: paused" in status and "Send Messages" in status
    daily.clock.advance(1800)
    daily.daily.scheduler.wake()
    await daily.command("status")
    assert len(daily.posts()) == 1, "a 403 is never retried (Discord bans IPs for invalid requests)"
    daily.fake.heal_channel(CHANNEL)  # someone fixed the channel's permissions
    assert "Not allowed" in json.dumps(await daily.command("resume", permissions=POSTER))
    assert "Daily facts resumed" in json.dumps(await daily.command("resume", permissions=MANAGER))
    await eventually(lambda: sent_delivery(daily.daily.store, sub.id), what="the post after resuming")
    assert len(daily.posts()) == 2 and daily.fake.posted[CHANNEL] == 1


async def test_a_429_is_honoured_and_the_resend_carries_the_same_nonce(daily: Daily) -> None:
    daily.fake.fail_channel(CHANNEL, rate_limited(30.0))
    await daily.command("subscribe", time="08:00", zone="Europe/Berlin")
    sub = await daily.subscription()
    await daily.due()
    await eventually(daily.posts, what="the first attempt")
    daily.clock.advance(25)
    daily.daily.scheduler.wake()
    await daily.command("status")
    assert len(daily.posts()) == 1, "nothing is sent again before retry_after has passed"
    daily.clock.advance(10)
    daily.daily.scheduler.wake()
    delivery = await eventually(lambda: sent_delivery(daily.daily.store, sub.id), what="the post after the wait")
    first, second = daily.posts()
    assert first.body["nonce"] == second.body["nonce"] == nonce_for(delivery.key)
    assert daily.fake.posted[CHANNEL] == 1 and delivery.attempts == 2
