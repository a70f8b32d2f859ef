"""Daily facts on Slack end to end: signed slash commands to the real bolt app, the real
scheduler and store (SQLite), the Slack poster, and the loopback fake Slack.

Time is moved by hand (`ManualClock`), so a post falls due exactly when a test says and a
429's wait ends when the test moves past it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.daily import running_daily
from adapters.slack.app import build_app
from adapters.slack.http import EVENTS_PATH, start_http
from adapters.slack.caller import Roles
from adapters.slack.poster import SlackPoster
from bot.daily.scheduler import SchedulerSettings
from bot.daily.store import Status
from tests.fakes.clock import ManualClock, eventually, sent_delivery, subscription_in
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import SIGNING_SECRET
from tests.slack.conftest import BOT_TOKEN, TIMEOUT, HttpBot

ADMIN, MEMBER = "UADMIN", "UMEMBER"
CHANNEL, OTHER = "C123", "C456"
BEFORE = datetime(2026, 3, 2, 8, 59, 30, tzinfo=timezone.utc)
DUE = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)


@dataclass
class Daily:
    fake: FakeSlack
    bot: HttpBot
    daily: Any
    clock: ManualClock
    _rids: int = 0

    async def command(self, text: str, user_id: str = ADMIN, channel_id: str = CHANNEL) -> dict[str, Any]:
        """A signed slash command; returns the body the app sent to the response_url."""
        self._rids += 1
        rid = f"r{self._rids}"
        resp = await self.bot.command(text, rid=rid, user_id=user_id, user_name=user_id.lower(), channel_id=channel_id)
        assert resp.status == 200
        await self.fake.wait_for(lambda f: any(c.name == rid for c in f.responses()))
        return next(c.body for c in self.fake.responses() if c.name == rid)

    async def subscription(self, channel: str = CHANNEL) -> Any:
        return await self.daily.store.get("slack", channel)

    def posts(self, channel: str = CHANNEL) -> list[Any]:
        return [c for c in self.fake.api_calls("chat.postMessage") if c.body.get("channel") == channel]

    async def due(self, at: datetime = DUE) -> None:
        self.clock.set(at)
        self.daily.scheduler.wake()


@pytest.fixture
async def daily(fake: FakeSlack, engine: Any, tmp_path: Path) -> AsyncIterator[Daily]:
    fake.add_user(ADMIN, is_admin=True)
    fake.add_user(MEMBER)
    clock = ManualClock(BEFORE)
    async with running_daily(engine, {}, url=f"sqlite:///{tmp_path}/daily.db", clock=clock,
                             settings=SchedulerSettings(), drain_timeout=5) as (wired, facts):
        app = build_app(wired, token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.api_url, roles=Roles())
        server = await start_http(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET)
        poster = SlackPoster(app.client)  # as `cytobot run` builds it (adapters/daily_component.py)
        await facts.scheduler.attach("slack", poster)
        session = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            yield Daily(fake, HttpBot(f"http://127.0.0.1:{server.port}{EVENTS_PATH}", fake, session), facts, clock)
        finally:
            await session.close()
            await server.close()
            await facts.scheduler.stop(5)
            await poster.aclose()


async def test_a_member_cannot_subscribe_an_admin_can(daily: Daily) -> None:
    refused = await daily.command("daily subscribe 09:00 UTC", user_id=MEMBER)
    text = json.dumps(refused)
    assert "Not allowed" in text and "workspace admins and owners" in text and "CYTOBOT_SLACK_ADMINS" in text
    assert await daily.subscription() is None
    accepted = await daily.command("daily subscribe 09:00 UTC", user_id=ADMIN)
    assert "Daily facts are on" in json.dumps(accepted)
    sub = await daily.subscription()
    assert sub is not None and sub.status is Status.ACTIVE and f"{sub.at:%H:%M}" == "09:00" and sub.zone == "UTC"
    # Anyone may look; only managers may change.
    assert "Daily facts: on" in json.dumps(await daily.command("daily status", user_id=MEMBER))
    assert "Not allowed" in json.dumps(await daily.command("daily unsubscribe", user_id=MEMBER))
    assert (await daily.subscription()).status is Status.ACTIVE


async def test_the_scheduled_fact_reaches_slack_once_through_the_poster(daily: Daily) -> None:
    await daily.command("daily subscribe 09:00 UTC")
    await daily.command("daily subscribe 09:00 UTC", channel_id=OTHER)
    sub = await daily.subscription()
    assert daily.posts() == []
    await daily.due()
    [post] = await eventually(daily.posts, what="the post")
    await eventually(lambda: daily.posts(OTHER), what="the other channel's post")
    delivery = await eventually(lambda: sent_delivery(daily.daily.store, sub.id), what="the post recorded as sent")
    assert delivery.message_id and delivery.message_id.endswith(".000100")  # the ts the fake answered
    fact = daily.daily.service.facts  # the fact the rotation chose is the card posted
    assert delivery.fact_id in list(fact())
    assert not [b for b in post.body["blocks"] if b["type"] == "actions"]
    assert post.body["unfurl_links"] is False
    daily.clock.advance(3600)  # later the same day: nothing more
    daily.daily.scheduler.wake()
    await daily.command("daily status")
    assert len(daily.posts()) == 1 and len(daily.posts(OTHER)) == 1


async def test_a_channel_the_bot_left_pauses_with_the_reason_and_resumes(daily: Daily) -> None:
    daily.fake.fail_channel(CHANNEL, "not_in_channel", sticky=True)
    await daily.command("daily subscribe 09:00 UTC")
    await daily.due()
    sub = await eventually(lambda: subscription_in(daily.daily.store, "slack", CHANNEL, Status.PAUSED), what="the pause")
    assert "not_in_channel" in sub.pause_reason and "/invite @cytobot" in sub.pause_reason
    status = json.dumps(await daily.command("daily status", user_id=MEMBER))
    assert "Daily facts: paused" in status and "/invite @cytobot" in status
    daily.clock.advance(1800)
    daily.daily.scheduler.wake()
    await daily.command("daily status")
    assert len(daily.posts()) == 1, "a permanent error is never retried"
    daily.fake.heal_channel(CHANNEL)  # someone invited the bot
    assert "Not allowed" in json.dumps(await daily.command("daily resume", user_id=MEMBER))
    assert "Daily facts resumed" in json.dumps(await daily.command("daily resume", user_id=ADMIN))
    delivery = await eventually(lambda: sent_delivery(daily.daily.store, sub.id), what="the post after resuming")
    assert len(daily.posts()) == 2 and delivery.message_id


async def test_a_revoked_token_pauses_every_channel_until_resumed(daily: Daily) -> None:
    await daily.command("daily subscribe 09:00 UTC")
    await daily.command("daily subscribe 09:05 UTC", channel_id=OTHER)
    daily.fake.fail_channel(CHANNEL, "token_revoked")
    await daily.due()
    await eventually(lambda: _platform_paused(daily), what="the platform pause")
    await daily.due(DUE.replace(minute=6))
    daily.daily.scheduler.wake()
    status = json.dumps(await daily.command("daily status", channel_id=OTHER))
    assert "Paused on this platform" in status and "token_revoked" in status
    assert daily.posts(OTHER) == [], "no channel is tried while the token is known to be bad"
    await daily.command("daily resume")
    await eventually(lambda: daily.posts(OTHER), what="the other channel's post after resuming")
    await eventually(lambda: len(daily.posts()) == 2, what="the first channel's post after resuming")


async def test_a_429_is_honoured_before_the_post_is_sent_again(daily: Daily) -> None:
    daily.fake.fail_channel(CHANNEL, "ratelimited", status=429, headers={"Retry-After": "30"})
    await daily.command("daily subscribe 09:00 UTC")
    sub = await daily.subscription()
    await daily.due()
    await eventually(lambda: daily.posts(), what="the first attempt")
    daily.clock.advance(25)
    daily.daily.scheduler.wake()
    await daily.command("daily status")
    assert len(daily.posts()) == 1, "nothing is sent again before Retry-After has passed"
    daily.clock.advance(10)
    daily.daily.scheduler.wake()
    delivery = await eventually(lambda: sent_delivery(daily.daily.store, sub.id), what="the post after the wait")
    assert len(daily.posts()) == 2 and delivery.attempts == 2
    assert sum(daily.fake.posted.values()) == 1


async def _platform_paused(daily: Daily) -> bool:
    return "slack" in await daily.daily.store.platform_pauses()
