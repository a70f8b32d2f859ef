"""Daily facts on Slack when Slack or a request is not what it should be (issue 16, items 4 and
7): a Slack that accepts a post and answers after the poster's timeout never gets it twice (the
poster looks for the post's key in the channel before sending again), and a signed request
from another workspace (a shared channel) cannot change the first workspace's subscription.
The real bolt app, the real scheduler and store, the loopback fake Slack."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.daily import running_daily
from adapters.slack.app import build_app
from adapters.slack.caller import Roles
from adapters.slack.http import EVENTS_PATH, start_http
from adapters.slack.poster import EVENT_TYPE, SlackPoster
from bot.daily.delivery import RetryAfter, Sent
from bot.daily.scheduler import SchedulerSettings
from bot.daily.store import Status
from bot.engine import Engine
from bot.reply import Card, Footer, Reply
from tests.fakes.clock import ManualClock, eventually, sent_delivery
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import SIGNING_SECRET, signed_headers, slash_command_body

TOKEN = "xoxb-1-faults-test"
UTC = timezone.utc
CHANNEL = "C777"


def reply() -> Reply:
    return Reply(cards=(Card(title="Did you know?", body="A fact.", footer=Footer(disclaimer="Not medical advice.")),))


async def test_a_slow_slack_never_gets_a_post_twice() -> None:
    fake = await FakeSlack().start()
    poster = SlackPoster(AsyncWebClient(token=TOKEN, base_url=fake.api_url), timeout=0.5)
    try:
        fake.post_delay = 1.5  # accepted at once, answered after the poster gave up waiting
        fake.fail_next("conversations.history", status=500)  # and the first look goes unanswered too
        first = await poster.post(CHANNEL, reply(), key="k-slow")
        assert isinstance(first, RetryAfter)
        assert fake.posted[CHANNEL] == 1
        # The scheduler tries again: the poster looks first, finds the post, sends nothing.
        again = await poster.post(CHANNEL, reply(), key="k-slow")
        assert isinstance(again, Sent) and again.message_id == fake.history[CHANNEL][0]["ts"]
        assert fake.posted[CHANNEL] == 1 and len(fake.api_calls("chat.postMessage")) == 1
        # The key travels in the message metadata, which Slack shows to nobody.
        sent = fake.api_calls("chat.postMessage")[0].body
        assert sent["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {"key": "k-slow"}}
        # A prompt Slack needs no look at all.
        fake.post_delay = 0.0
        looks = poster.lookups
        assert isinstance(await poster.post(CHANNEL, reply(), key="k-fast"), Sent)
        assert poster.lookups == looks and fake.posted[CHANNEL] == 2
    finally:
        await poster.aclose()
        await fake.stop()


async def test_through_the_scheduler_a_slow_slack_gets_one_post_recorded_sent(engine: Engine, tmp_path: Path) -> None:
    fake = await FakeSlack().start()
    fake.add_user("UADMIN", is_admin=True)
    clock = ManualClock(datetime(2026, 3, 2, 8, 59, 30, tzinfo=UTC))
    async with running_daily(engine, {}, url=f"sqlite:///{tmp_path}/daily.db", clock=clock,
                             settings=SchedulerSettings(), drain_timeout=5) as (wired, facts):
        app = build_app(wired, token=TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.api_url, roles=Roles())
        server = await start_http(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET)
        poster = SlackPoster(app.client, timeout=0.5)
        await facts.scheduler.attach("slack", poster)
        session = aiohttp.ClientSession()
        try:
            await command(session, server.port, fake, "daily subscribe 09:00 UTC", "UADMIN", "T1", "r1")
            sub = await facts.store.get("slack", CHANNEL, "T1")
            fake.post_delay = 1.5
            clock.set(datetime(2026, 3, 2, 9, tzinfo=UTC))
            facts.scheduler.wake()
            delivery = await eventually(lambda: sent_delivery(facts.store, sub.id), timeout=20, what="the post recorded")
            assert delivery.message_id == fake.history[CHANNEL][0]["ts"]
            assert fake.posted[CHANNEL] == 1 and facts.scheduler.stats["sent"] == 1
        finally:
            await session.close()
            await server.close()
            await facts.scheduler.stop(5)
            await poster.aclose()
            await fake.stop()


async def command(session: aiohttp.ClientSession, port: int, fake: FakeSlack, text: str, user: str, team: str,
                  rid: str) -> dict[str, Any]:
    """A signed slash command as Slack sends one, from workspace `team`; the body the bot answered."""
    body = slash_command_body(text, fake.response_url(rid), user_id=user, user_name=user.lower(), channel_id=CHANNEL,
                              team_id=team)
    async with session.post(f"http://127.0.0.1:{port}{EVENTS_PATH}", data=body.encode(), headers=signed_headers(body)) as r:
        assert r.status == 200
    await fake.wait_for(lambda f: any(c.name == rid for c in f.responses()), timeout=10)
    return next(c.body for c in fake.responses() if c.name == rid)


async def test_a_request_from_another_workspace_cannot_change_the_channel(engine: Engine, tmp_path: Path) -> None:
    fake = await FakeSlack().start()
    fake.add_user("UADMIN", is_admin=True, team_id="T1")
    fake.add_user("UOTHER", is_admin=True, team_id="T2")  # an admin, but of the workspace the channel is shared with
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    async with running_daily(engine, {}, url=f"sqlite:///{tmp_path}/daily.db", clock=clock,
                             settings=SchedulerSettings(), drain_timeout=5) as (wired, facts):
        app = build_app(wired, token=TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.api_url, roles=Roles())
        server = await start_http(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET)
        session = aiohttp.ClientSession()
        try:
            shown = json.dumps(await command(session, server.port, fake, "daily subscribe 09:00 UTC", "UADMIN", "T1", "r1"))
            assert "Daily facts are on" in shown
            for i, text in enumerate(("daily unsubscribe", "daily subscribe 07:00 Europe/Berlin", "daily resume")):
                refused = json.dumps(await command(session, server.port, fake, text, "UOTHER", "T2", f"x{i}"))
                assert "another workspace" in refused, refused
            sub = await facts.store.get("slack", CHANNEL, "T1")
            assert sub is not None and sub.status is Status.ACTIVE and f"{sub.at:%H:%M}" == "09:00" and sub.zone == "UTC"
            assert await facts.store.get("slack", CHANNEL, "T2") is None  # nothing was taken over or created
        finally:
            await session.close()
            await server.close()
            await fake.stop()
