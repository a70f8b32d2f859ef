"""A reply sent to Slack's response_url is checked: a 500 or a 429 gets one retry (after its
Retry-After), a reply that still does not get through is one warning line (status only, never
what was typed) and counts as `undelivered` in the metrics, never `ok`. Real bolt app, signed
requests, the loopback fake Slack answering the response_url as scripted."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adapters.inflight import INFLIGHT
from adapters.observe import Metrics
from bot.engine import Engine
from tests.conftest import MINI_PACK

TYPED = "about zebrafish-4410"


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def bot(make_bot: Any, metrics: Metrics) -> Any:
    return await make_bot(Engine.load(MINI_PACK, observer=metrics))


def counted(metrics: Metrics, outcome: str) -> float:
    return metrics.commands.labels("about", "slack", outcome)._value.get()


async def answered(bot: Any, text: str = "about") -> None:
    assert (await bot.command(text)).status == 200  # the ack
    assert await INFLIGHT.idle(20)  # the answer after it, retries included


async def test_a_500_is_retried_once_and_the_reply_gets_through(bot: Any, fake: Any, metrics: Metrics, caplog) -> None:
    fake.fail_response(500)
    with caplog.at_level(logging.WARNING, logger="cytobot.slack"):
        await answered(bot)
    assert [c.status for c in fake.responses()] == [500, 200]
    assert fake.responses()[0].body == fake.responses()[1].body  # the same reply, sent again
    assert counted(metrics, "ok") == 1 and counted(metrics, "undelivered") == 0
    assert "did not reach Slack" not in caplog.text


async def test_a_429_waits_out_its_retry_after_then_retries(bot: Any, fake: Any, metrics: Metrics) -> None:
    fake.fail_response(429, {"Retry-After": "1"})
    await answered(bot)
    first, second = fake.responses()
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9  # Slack's Retry-After was honoured, not a tight loop
    assert counted(metrics, "ok") == 1


@pytest.mark.parametrize(("status", "times", "calls"), [(500, 2, 2), (429, 2, 2), (404, 1, 1)])
async def test_a_reply_that_never_gets_through_is_logged_once_and_counted_undelivered(
        bot: Any, fake: Any, metrics: Metrics, caplog, status: int, times: int, calls: int) -> None:
    fake.fail_response(status, {"Retry-After": "0"} if status == 429 else None, times=times)
    with caplog.at_level(logging.INFO):
        await answered(bot, TYPED)
    assert [c.status for c in fake.responses()] == [status] * calls
    lines = [r.getMessage() for r in caplog.records if "did not reach Slack" in r.getMessage()]
    assert lines == [f"a slash command reply did not reach Slack: the response_url answered HTTP {status}"
                     + (" again after one retry" if calls == 2 else "")]
    assert counted(metrics, "undelivered") == 1 and counted(metrics, "ok") == 0
    assert "zebrafish" not in caplog.text  # nothing the user typed, at any level
    assert 'outcome="undelivered"' in metrics.exposition().decode()
