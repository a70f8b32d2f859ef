"""The Slack poster through slack_sdk's real client against the loopback fake Slack.

The poster is built from the interactive client (`web_client`, which sleeps through 429s and
retries server errors): every test that counts requests therefore also proves the poster
dropped those handlers. One `post()` is one request, whatever Slack answers.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.slack import poster as slack_poster
from adapters.slack.app import web_client
from adapters.slack.poster import SlackPoster
from adapters.slack.render import render_message
from bot.daily.delivery import Permanent, RetryAfter, Scope, Sent
from bot.reply import Card, Footer, Reply, Visibility
from tests.fakes.ratelimit import RateLimiter
from tests.fakes.slack_api import FakeSlack
from tests.slack.blockkit_check import check_message
from tests.slack.conftest import BOT_TOKEN

CHANNEL_ERRORS = ["channel_not_found", "not_in_channel", "is_archived", "restricted_action",
                  "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
                  "restricted_action_non_threadable_channel"]
TOKEN_ERRORS = ["invalid_auth", "account_inactive", "token_revoked", "missing_scope", "not_authed"]


@pytest.fixture
async def poster(fake: FakeSlack) -> AsyncIterator[SlackPoster]:
    p = SlackPoster(web_client(BOT_TOKEN, fake.api_url), timeout=0.5)
    yield p
    await p.aclose()


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.DEBUG)
    yield
    assert BOT_TOKEN not in caplog.text


def posts(fake: FakeSlack, channel: str | None = None) -> list[Any]:
    return [c for c in fake.api_calls("chat.postMessage") if channel is None or c.body.get("channel") == channel]


async def test_post_sends_the_public_rendering_and_returns_slacks_ts(poster: SlackPoster, fake: FakeSlack, engine: Any) -> None:
    reply = engine.execute("compare severity")  # private, with a share button
    assert reply.visibility is Visibility.PRIVATE and reply.actions
    outcome = await poster.post("C100", reply, key="sub-1:2025-03-30")
    [call] = posts(fake)
    assert isinstance(outcome, Sent)
    assert outcome.message_id and outcome.message_id.endswith(".000100")
    assert call.body["channel"] == "C100"
    public = render_message(dataclasses.replace(reply, visibility=Visibility.PUBLIC))
    assert call.body["blocks"] == public["blocks"] and call.body["text"] == public["text"]
    assert not [b for b in call.body["blocks"] if b["type"] == "actions"], "no share button on a scheduled post"
    assert call.body["unfurl_links"] is False and call.body["unfurl_media"] is False
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert check_message(call.body) == []


async def test_nobody_is_pinged_whatever_the_card_says(poster: SlackPoster, fake: FakeSlack) -> None:
    hostile = "<!channel> <!here> <!everyone> <@U999> <#C1|x> <https://evil.example|click>"
    reply = Reply(cards=(Card(title=hostile, body=hostile, footer=Footer(disclaimer=hostile)),))
    assert isinstance(await poster.post("C100", reply, key="k"), Sent)
    [call] = posts(fake)
    sent = json.dumps(call.body)
    for token in ("<!channel>", "<!here>", "<!everyone>", "<@U999>", "<#C1", "<https://evil"):
        assert token not in sent
    assert "&lt;!channel&gt;" in call.body["text"]


async def test_429_returns_slacks_retry_after_without_waiting_or_resending(poster: SlackPoster, fake: FakeSlack, engine: Any) -> None:
    fake.fail_channel("C100", "ratelimited", status=429, headers={"Retry-After": "7"})
    outcome = await poster.post("C100", engine.execute("about"), key="k")
    assert outcome == RetryAfter(7.0, outcome.reason)
    assert "rate limit" in outcome.reason
    assert len(posts(fake)) == 1


async def test_the_fakes_per_channel_limit_answers_429_and_other_channels_go_on(poster: SlackPoster, fake: FakeSlack, engine: Any) -> None:
    fake.limiter = RateLimiter(channel_rate=1.0, channel_burst=1)
    reply = engine.execute("about")
    first = await poster.post("C100", reply, key="a")
    second = await poster.post("C100", reply, key="b")
    other = await poster.post("C200", reply, key="c")
    assert isinstance(first, Sent) and isinstance(other, Sent)
    assert isinstance(second, RetryAfter) and second.seconds == 1.0
    assert fake.limiter.violations == 1
    assert fake.posted == {"C100": 1, "C200": 1}


@pytest.mark.parametrize("error", CHANNEL_ERRORS)
async def test_channel_errors_are_permanent_for_the_channel_and_sent_once(poster: SlackPoster, fake: FakeSlack, engine: Any, error: str) -> None:
    fake.fail_channel("C100", error, sticky=True)
    outcome = await poster.post("C100", engine.execute("about"), key="k")
    assert isinstance(outcome, Permanent) and outcome.scope is Scope.CHANNEL
    assert error in outcome.reason
    assert len(posts(fake)) == 1, "a permanent error is never retried"
    # Another channel is not affected.
    assert isinstance(await poster.post("C200", engine.execute("about"), key="k2"), Sent)


async def test_channel_reasons_say_what_to_do(poster: SlackPoster, fake: FakeSlack, engine: Any) -> None:
    reasons = {}
    for error in ("not_in_channel", "channel_not_found", "is_archived"):
        fake.fail_channel("C100", error)
        outcome = await poster.post("C100", engine.execute("about"), key="k")
        assert isinstance(outcome, Permanent)
        assert not outcome.reason.endswith("."), "daily status goes on after it: '<reason>. Fix it, then …'"
        reasons[error] = outcome.reason
    assert "/invite @cytobot" in reasons["not_in_channel"]
    assert "/invite @cytobot" in reasons["channel_not_found"]
    assert "unarchive" in reasons["is_archived"]


@pytest.mark.parametrize("error", TOKEN_ERRORS)
async def test_token_errors_pause_the_platform_and_are_sent_once(poster: SlackPoster, fake: FakeSlack, engine: Any, error: str) -> None:
    fake.fail_channel("C100", error)
    outcome = await poster.post("C100", engine.execute("about"), key="k")
    assert isinstance(outcome, Permanent) and outcome.scope is Scope.PLATFORM
    assert error in outcome.reason
    assert "SLACK_BOT_TOKEN" in outcome.reason or "scope" in outcome.reason
    assert len(posts(fake)) == 1


async def test_missing_scope_names_the_scope_slack_asks_for(poster: SlackPoster, fake: FakeSlack, engine: Any) -> None:
    fake.fail_channel("C100", body={"ok": False, "error": "missing_scope", "needed": "chat:write.public", "provided": "commands"})
    outcome = await poster.post("C100", engine.execute("about"), key="k")
    assert isinstance(outcome, Permanent) and outcome.scope is Scope.PLATFORM
    assert "chat:write.public" in outcome.reason


@pytest.mark.parametrize("status, headers, expected", [(500, {}, slack_poster.SERVER_RETRY), (502, {}, slack_poster.SERVER_RETRY),
                                                       (503, {"Retry-After": "30"}, 30.0)])
async def test_server_errors_retry_later_after_one_request(poster: SlackPoster, fake: FakeSlack, engine: Any, status: int,
                                                           headers: dict[str, str], expected: float) -> None:
    fake.fail_channel("C100", status=status, headers=headers)  # an HTML error page, as Slack's edge sends
    outcome = await poster.post("C100", engine.execute("about"), key="k")
    assert isinstance(outcome, RetryAfter) and outcome.seconds == expected
    assert str(status) in outcome.reason
    assert len(posts(fake)) == 1, "the interactive client's server-error retries are not used"


async def test_slack_internal_error_in_a_200_is_transient(poster: SlackPoster, fake: FakeSlack, engine: Any) -> None:
    fake.fail_channel("C100", "internal_error")
    outcome = await poster.post("C100", engine.execute("about"), key="k")
    assert isinstance(outcome, RetryAfter) and outcome.seconds == slack_poster.SERVER_RETRY


async def test_an_unknown_rejection_is_left_to_the_schedulers_backoff_not_paused(poster: SlackPoster, fake: FakeSlack, engine: Any) -> None:
    fake.fail_channel("C100", "invalid_blocks")
    outcome = await poster.post("C100", engine.execute("about"), key="k")
    assert isinstance(outcome, RetryAfter) and outcome.seconds == slack_poster.UNKNOWN_RETRY
    assert "invalid_blocks" in outcome.reason


async def test_a_refused_connection_is_transient(engine: Any) -> None:
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = SlackPoster(web_client(BOT_TOKEN, f"http://127.0.0.1:{port}/api/"), timeout=0.5)
    try:
        outcome = await p.post("C100", engine.execute("about"), key="k")
    finally:
        await p.aclose()
    assert isinstance(outcome, RetryAfter) and outcome.seconds == slack_poster.NETWORK_RETRY
    assert "cannot reach Slack" in outcome.reason


async def test_a_slack_that_does_not_answer_in_time_is_transient(poster: SlackPoster, fake: FakeSlack, engine: Any) -> None:
    fake.fail_channel("C100", body={"ok": True, "ts": "1.2"}, delay=1.0)
    outcome = await poster.post("C100", engine.execute("about"), key="k")
    assert isinstance(outcome, RetryAfter) and "did not answer" in outcome.reason
    assert len(posts(fake)) == 1


async def test_post_never_raises(poster: SlackPoster, fake: FakeSlack) -> None:
    outcome = await poster.post("C100", None, key="k")  # type: ignore[arg-type]  # a bug upstream
    assert isinstance(outcome, RetryAfter)
    assert posts(fake) == []


def test_poster_states_its_platform_and_rate() -> None:
    from adapters.slack.app import web_client as make

    p = SlackPoster(make(BOT_TOKEN, "http://127.0.0.1:9/api/"))
    assert p.platform == "slack" and p.rate == slack_poster.RATE > 0
    assert SlackPoster(make(BOT_TOKEN, "http://127.0.0.1:9/api/"), rate=20).rate == 20
