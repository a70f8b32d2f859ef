"""The Discord poster with a real, logged-in discord.py client against the loopback fake Discord.

One `post()` is one request whatever Discord answers (discord.py's own HTTP layer would sleep
through 429s and retry 5xx), permanent errors are never retried, and the nonce derived from
the scheduler's key makes a resend return the first message instead of posting twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from adapters.discord import poster as discord_poster
from adapters.discord.client import point_discord_py_at
from adapters.discord.poster import DiscordPoster, nonce_for
from adapters.discord.render import render_message
from bot.daily.delivery import Permanent, RetryAfter, Scope, Sent
from bot.engine import Engine
from bot.reply import Card, Footer, Reply, Visibility
from tests.discord.conftest import TOKEN
from tests.fakes.discord_api import ChannelAnswer, FakeDiscord, error_answer, rate_limited
from tests.fakes.ratelimit import RateLimiter

CHANNEL = "1100000000000000100"
OTHER = "1100000000000000200"
NO_PINGS = {"parse": []}


class Clock:
    """A hand-moved monotonic clock, so "wait 30 s" is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class Setup:
    fake: FakeDiscord
    client: discord.Client
    poster: DiscordPoster
    clock: Clock

    def posts(self, channel: str | None = None) -> list[Any]:
        return self.fake.channel_posts(channel)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    fake = await FakeDiscord(token=TOKEN).start()
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    point_discord_py_at(fake.api_url, fake.gateway_url)
    client = discord.Client(intents=discord.Intents.none())
    await client.login(TOKEN)  # REST only: the poster needs no gateway
    clock = Clock()
    poster = DiscordPoster(client, timeout=0.5, clock=clock)
    try:
        yield Setup(fake, client, poster, clock)
    finally:
        await poster.aclose()
        await client.close()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        await fake.stop()


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.INFO)
    yield
    assert TOKEN not in caplog.text


@pytest.fixture
def reply(engine: Engine) -> Reply:
    return engine.execute("compare severity")


async def test_post_sends_the_public_embeds_with_a_nonce_and_no_pings(setup: Setup, reply: Reply) -> None:
    assert reply.visibility is Visibility.PRIVATE and reply.actions  # as the core answers a person
    outcome = await setup.poster.post(CHANNEL, reply, key="sub-7:2025-10-26")
    [call] = setup.posts()
    assert isinstance(outcome, Sent) and outcome.message_id.isdigit()
    assert call.path == f"/channels/{CHANNEL}/messages"
    rendered = render_message(dataclasses.replace(reply, visibility=Visibility.PUBLIC))
    assert call.body["embeds"] == rendered["embeds"]
    assert call.body["allowed_mentions"] == NO_PINGS == rendered["allowed_mentions"]
    assert "components" not in call.body, "no share button on a scheduled post"
    assert not call.body.get("flags", 0) & 64, "not ephemeral"
    assert call.body["nonce"] == nonce_for("sub-7:2025-10-26") and call.body["enforce_nonce"] is True
    assert call.headers["Authorization"] == f"Bot {TOKEN}"
    assert setup.fake.posted[CHANNEL] == 1


async def test_a_resend_with_the_same_key_returns_the_first_message(setup: Setup, reply: Reply) -> None:
    first = await setup.poster.post(CHANNEL, reply, key="sub-7:2025-10-26")
    again = await setup.poster.post(CHANNEL, reply, key="sub-7:2025-10-26")
    next_day = await setup.poster.post(CHANNEL, reply, key="sub-7:2025-10-27")
    assert isinstance(first, Sent) and isinstance(again, Sent) and isinstance(next_day, Sent)
    assert again.message_id == first.message_id
    assert next_day.message_id != first.message_id
    assert setup.fake.posted[CHANNEL] == 2 and setup.fake.nonce_hits == 1


def test_nonces_are_deterministic_short_and_distinct() -> None:
    keys = [f"subscription-{i}:2025-10-{d:02d}" for i in range(200) for d in range(1, 29)] + ["x" * 5000]
    nonces = [nonce_for(k) for k in keys]
    assert all(len(n) <= 25 for n in nonces)
    assert len(set(nonces)) == len(keys)
    assert nonce_for("a:b") == nonce_for("a:b")


async def test_nobody_is_pinged_whatever_the_card_says(setup: Setup) -> None:
    hostile = "@everyone @here <@1300000000000000009> <@&1100000000000000003>"
    reply = Reply(cards=(Card(title=hostile, body=hostile, footer=Footer(disclaimer="not advice")),))
    assert isinstance(await setup.poster.post(CHANNEL, reply, key="k"), Sent)
    [call] = setup.posts()
    assert call.body["allowed_mentions"] == NO_PINGS
    assert "content" not in call.body or not call.body["content"]  # mentions in embeds never notify


async def test_channel_429_returns_retry_after_without_waiting_and_other_channels_go_on(setup: Setup, reply: Reply) -> None:
    setup.fake.fail_channel(CHANNEL, rate_limited(12.5))
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert outcome == RetryAfter(12.5, outcome.reason)
    assert len(setup.posts(CHANNEL)) == 1, "discord.py would have slept and sent it again"
    assert isinstance(await setup.poster.post(OTHER, reply, key="k2"), Sent)


async def test_global_429_stops_every_channel_until_the_wait_is_over(setup: Setup, reply: Reply) -> None:
    setup.fake.fail_channel(CHANNEL, rate_limited(30.0, is_global=True))
    first = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(first, RetryAfter) and first.seconds == 30.0 and "global" in first.reason
    setup.clock.now += 10
    other = await setup.poster.post(OTHER, reply, key="k2")
    assert isinstance(other, RetryAfter) and other.seconds == pytest.approx(20.0)
    assert len(setup.posts()) == 1, "nothing is sent while the global limit lasts"
    setup.clock.now += 20.5
    assert isinstance(await setup.poster.post(OTHER, reply, key="k2"), Sent)


async def test_a_429_without_via_is_a_cloudflare_ban_and_stops_everything(setup: Setup, reply: Reply) -> None:
    setup.fake.fail_channel(CHANNEL, rate_limited(600, via=False))
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(outcome, RetryAfter) and outcome.seconds == 600 and "Cloudflare" in outcome.reason
    assert isinstance(await setup.poster.post(OTHER, reply, key="k2"), RetryAfter)
    assert len(setup.posts()) == 1


async def test_the_fakes_global_limit_is_met_once_then_no_request_hammers_it(setup: Setup, reply: Reply) -> None:
    setup.fake.limiter = RateLimiter(global_rate=5.0, global_burst=5)
    setup.poster = DiscordPoster(setup.client, timeout=0.5)  # the real clock: the fake's limiter uses it too
    try:
        outcomes = [await setup.poster.post(str(1100000000000001000 + i), reply, key=f"k{i}") for i in range(10)]
    finally:
        await setup.poster.aclose()
    sent = [o for o in outcomes if isinstance(o, Sent)]
    waits = [o for o in outcomes if isinstance(o, RetryAfter)]
    assert len(sent) >= 5 and waits and all(0 < w.seconds <= 1.0 for w in waits)
    assert all("global" in w.reason for w in waits), "the fake's 429 carries Via: not mistaken for a Cloudflare ban"
    assert setup.fake.limiter.violations == 1, "after one global 429 the poster holds back instead of hammering"


@pytest.mark.parametrize("code, words", [(10003, "subscribe again"), (50001, "View Channel"), (50013, "Send Messages")])
async def test_channel_errors_are_permanent_and_never_retried(setup: Setup, reply: Reply, code: int, words: str) -> None:
    setup.fake.fail_channel(CHANNEL, error_answer(code), sticky=True)
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(outcome, Permanent) and outcome.scope is Scope.CHANNEL
    assert words in outcome.reason and str(code) in outcome.reason
    assert not outcome.reason.endswith("."), "daily status goes on after it: '<reason>. Fix it, then …'"
    assert len(setup.posts(CHANNEL)) == 1
    assert isinstance(await setup.poster.post(OTHER, reply, key="k2"), Sent), "another channel is not affected"


async def test_an_unknown_403_is_still_permanent(setup: Setup, reply: Reply) -> None:
    setup.fake.fail_channel(CHANNEL, ChannelAnswer(403, {"message": "Cannot send messages to this user", "code": 50007}))
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(outcome, Permanent) and outcome.scope is Scope.CHANNEL
    setup.fake.fail_channel(CHANNEL, ChannelAnswer(403, {"message": "Something new", "code": 99999}))
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(outcome, Permanent) and "99999" in outcome.reason


async def test_a_rejected_token_pauses_the_platform(setup: Setup, reply: Reply) -> None:
    setup.fake.token = "a-reset-token"  # the bot's token no longer works
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(outcome, Permanent) and outcome.scope is Scope.PLATFORM
    assert "DISCORD_TOKEN" in outcome.reason
    assert len(setup.posts()) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_retry_later_after_one_request(setup: Setup, reply: Reply, status: int) -> None:
    setup.fake.fail_channel(CHANNEL, ChannelAnswer(status, {"message": f"{status}: Server Error", "code": 0}))
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert outcome == RetryAfter(discord_poster.SERVER_RETRY, outcome.reason)
    assert len(setup.posts()) == 1, "discord.py would have retried up to five times"


async def test_an_invalid_body_is_left_to_the_schedulers_backoff_not_paused(setup: Setup, reply: Reply) -> None:
    setup.fake.fail_channel(CHANNEL, ChannelAnswer(400, {"message": "Invalid Form Body", "code": 50035}))
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(outcome, RetryAfter) and outcome.seconds == discord_poster.UNKNOWN_RETRY


async def test_a_discord_that_does_not_answer_in_time_is_transient(setup: Setup, reply: Reply) -> None:
    setup.fake.fail_channel(CHANNEL, ChannelAnswer(200, {"id": "1"}, delay=1.0))
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(outcome, RetryAfter) and "did not answer" in outcome.reason


async def test_a_refused_connection_is_transient(setup: Setup, reply: Reply) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    point_discord_py_at(f"http://127.0.0.1:{port}/api/v10")
    outcome = await setup.poster.post(CHANNEL, reply, key="k")
    assert isinstance(outcome, RetryAfter) and "cannot reach Discord" in outcome.reason


async def test_before_login_and_with_a_bad_channel_id(setup: Setup, reply: Reply) -> None:
    offline = DiscordPoster(discord.Client(intents=discord.Intents.none()))
    try:
        outcome = await offline.post(CHANNEL, reply, key="k")
    finally:
        await offline.aclose()
    assert isinstance(outcome, RetryAfter) and "not logged in" in outcome.reason
    bad = await setup.poster.post("general", reply, key="k")
    assert isinstance(bad, Permanent) and bad.scope is Scope.CHANNEL
    assert setup.posts() == []


async def test_post_never_raises(setup: Setup) -> None:
    outcome = await setup.poster.post(CHANNEL, None, key="k")  # type: ignore[arg-type]  # a bug upstream
    assert isinstance(outcome, RetryAfter)
    assert setup.posts() == []


def test_poster_states_its_platform_and_rate() -> None:
    p = DiscordPoster(discord.Client(intents=discord.Intents.none()))
    assert p.platform == "discord" and p.rate == discord_poster.RATE == 50.0
    assert json.loads(json.dumps(DiscordPoster.payload(Reply(cards=()), "k")))["enforce_nonce"] is True
