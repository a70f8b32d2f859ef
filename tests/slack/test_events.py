"""@mentions and DMs through the real bolt app: signed Events API requests over loopback HTTP,
Socket Mode envelopes over a loopback websocket, and a fake Web API that records the answers;
two apps sharing one database, as replicas do, answer a retried event once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.slack.app import build_app
from adapters.slack.events import MemorySeen
from adapters.slack.render import render_message
from bot.daily.database import create_engine
from bot.daily.seen import DatabaseSeen
from bot.daily.store import Store
from tests.fakes.slack_signing import BOT_ID, BOT_USER, event_callback, message_event, signed_json_headers
from tests.slack.blockkit_check import check_message
from tests.slack.conftest import BOT_TOKEN


async def deliver(bot: Any, event: dict[str, Any], *, event_id: str = "Ev0001", retry: int | None = None,
                  secret: str | None = None) -> int:
    body = json.dumps(event_callback(event, event_id=event_id))
    headers = signed_json_headers(body, retry=retry, **({"secret": secret} if secret else {}))
    return (await bot.post(body, headers)).status


def posts(fake: Any, method: str = "chat.postMessage") -> list[Any]:
    return [c for c in fake.api_calls(method) if c.status == 200]


async def settle(fake: Any, predicate: Any) -> None:
    await fake.wait_for(predicate)
    await asyncio.sleep(0.2)  # anything else the app would send arrives by now


async def test_a_mention_in_a_channel_is_answered_in_a_thread(bot: Any, fake: Any, engine: Any) -> None:
    question = "<@UBOT> what is the difference between crs and cytokine storm?"
    assert await deliver(bot, message_event(question, ts="1700000100.000100")) == 200
    await settle(fake, lambda f: posts(f))
    [post] = posts(fake)
    assert post.body["channel"] == "C123" and post.body["thread_ts"] == "1700000100.000100"
    expected = render_message(engine.execute("what is the difference between crs and cytokine storm?", public=True))
    assert post.body["blocks"] == expected["blocks"]
    assert post.body["blocks"][0]["text"]["text"] == "Cytokine release syndrome vs cytokine storm"
    assert not [b for b in post.body["blocks"] if b["type"] == "actions"]  # the thread is public: nothing to share
    assert check_message(post.body) == []
    assert fake.api_calls("chat.postEphemeral") == []


async def test_a_mention_inside_a_thread_answers_in_that_thread(bot: Any, fake: Any) -> None:
    event = message_event("<@UBOT> crs fact", ts="1700000200.000300", thread_ts="1700000100.000100")
    await deliver(bot, event)
    await settle(fake, lambda f: posts(f))
    [post] = posts(fake)
    assert post.body["thread_ts"] == "1700000100.000100"
    assert "Did you know?" in json.dumps(post.body["blocks"])  # "crs fact" ran the fact command


async def test_a_direct_message_is_answered_in_the_dm(bot: Any, fake: Any) -> None:
    await deliver(bot, message_event("how is CRS graded?", channel="D42", kind="message"))
    await settle(fake, lambda f: posts(f))
    [post] = posts(fake)
    assert post.body["channel"] == "D42" and not post.body.get("thread_ts")
    assert "ASTCT consensus grading of CRS" in json.dumps(post.body["blocks"])


async def test_a_retried_event_is_answered_once(bot: Any, fake: Any) -> None:
    event = message_event("<@UBOT> what is HLH", ts="1700000300.000100")
    assert await deliver(bot, event, event_id="Ev7") == 200
    assert await deliver(bot, event, event_id="Ev7", retry=1) == 200
    assert await deliver(bot, event, event_id="Ev7", retry=2) == 200
    await settle(fake, lambda f: posts(f))
    assert len(posts(fake)) == 1


async def logged(caplog: Any, text: str, times: int = 1) -> None:
    """Wait until the log holds `text` `times` times (bolt runs the listener after its ack)."""
    for _ in range(250):
        if caplog.text.count(text) >= times:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never logged {text!r} {times} time(s):\n{caplog.text}")


@pytest.fixture
async def replicas(make_bot: Any, engine: Any, db_url: str) -> AsyncIterator[list[Any]]:
    """Two bolt apps, as two replicas behind a load balancer: each with its own connection pool
    to one database (SQLite, and PostgreSQL), recording answered events in it (`DatabaseSeen`)."""
    await (await Store.open(db_url)).close()  # migrated at start, as `cytobot run` does
    pools = [create_engine(db_url) for _ in range(2)]
    try:
        yield [await make_bot(engine, seen=DatabaseSeen(pool)) for pool in pools]
    finally:
        for pool in pools:
            await pool.dispose()


async def test_a_retry_reaching_another_replica_is_not_answered_again(replicas: list[Any], fake: Any, caplog: Any) -> None:
    first, second = replicas
    event = message_event("<@UBOT> what is HLH", ts="1700001000.000100")
    with caplog.at_level("INFO", logger="cytobot.slack.events"):
        assert await deliver(first, event, event_id="EvR1") == 200
        await settle(fake, lambda f: posts(f))
        assert await deliver(second, event, event_id="EvR1", retry=1) == 200  # Slack's retry, to the other replica
        await logged(caplog, "already answered; delivery ignored (retry 1)")
        # The same message reaching both at once (a retry racing the first delivery): one answer.
        other = message_event("<@UBOT> what is the ICE score", ts="1700001100.000100")
        await asyncio.gather(deliver(first, other, event_id="EvR2"), deliver(second, other, event_id="EvR2", retry=1))
        await settle(fake, lambda f: len(posts(f)) == 2)
        await logged(caplog, "already answered", times=2)
    assert len(posts(fake)) == 2 and {p.body["thread_ts"] for p in posts(fake)} == {"1700001000.000100", "1700001100.000100"}


async def test_a_failed_answer_leaves_the_retry_to_another_replica(replicas: list[Any], fake: Any) -> None:
    first, second = replicas
    fake.fail_next("chat.postMessage", 200, {"ok": False, "error": "fatal_error"})  # the first replica's post fails
    event = message_event("<@UBOT> what is HLH", ts="1700001200.000100")
    await deliver(first, event)
    await fake.wait_for(lambda f: f.api_calls("chat.postMessage"))
    await asyncio.sleep(0.2)  # it forgets the event
    await deliver(second, event, retry=1)
    await settle(fake, lambda f: f.posted["C123"])
    assert fake.posted["C123"] == 1 and len(fake.api_calls("chat.postMessage")) == 2  # the failed try, the answer


async def test_a_failed_answer_leaves_the_retry_its_chance(bot: Any, fake: Any) -> None:
    for _ in range(3):  # the first try and both of the client's own retries fail
        fake.fail_next("chat.postMessage", 500, {"ok": False, "error": "internal_error"})
    event = message_event("<@UBOT> what is HLH", ts="1700000400.000100")
    await deliver(bot, event)
    await fake.wait_for(lambda f: len(f.api_calls("chat.postMessage")) == 3, timeout=10)
    await asyncio.sleep(0.2)
    await deliver(bot, event, retry=1)
    await settle(fake, lambda f: posts(f))
    assert len(posts(fake)) == 1


async def test_own_messages_other_bots_and_subtypes_get_no_answer(bot: Any, fake: Any) -> None:
    ignored = [
        message_event("topic il6", channel="D42", kind="message", user=BOT_USER, bot_id=BOT_ID, ts="1.1"),
        message_event("topic il6", channel="D42", kind="message", user=BOT_USER, ts="1.2"),
        message_event("topic il6", channel="D42", kind="message", user=None, bot_id="B999", subtype="bot_message", ts="1.3"),
        message_event("<@UBOT> topic il6", kind="app_mention", user="U222", bot_id="B999", ts="1.4"),
        message_event("topic il6", channel="D42", kind="message", subtype="message_changed", ts="1.5"),
        message_event("", channel="D42", kind="message", subtype="channel_join", ts="1.6"),
        message_event("topic il6", channel="C123", kind="message", ts="1.7"),  # not a DM
    ]
    for i, event in enumerate(ignored):
        assert await deliver(bot, event, event_id=f"EvI{i}") == 200
    await deliver(bot, message_event("topic il6", channel="D42", kind="message", ts="1.8"), event_id="EvOK")
    await settle(fake, lambda f: posts(f))
    [post] = posts(fake)  # only the person's own DM is answered
    assert "Interleukin-6" in json.dumps(post.body["blocks"])


async def test_an_answer_nobody_else_needs_is_ephemeral_in_the_thread(bot: Any, fake: Any) -> None:
    await deliver(bot, message_event("<@UBOT> what is the capital of France?", user="U333", ts="1700000500.000100"))
    await settle(fake, lambda f: f.api_calls("chat.postEphemeral"))
    [ephemeral] = fake.api_calls("chat.postEphemeral")
    assert ephemeral.body["user"] == "U333" and ephemeral.body["thread_ts"] == "1700000500.000100"
    assert "Not covered by this pack" in json.dumps(ephemeral.body["blocks"])
    assert posts(fake) == []


async def test_no_ping_can_be_made_through_a_mention(bot: Any, fake: Any) -> None:
    await deliver(bot, message_event("<@UBOT> <!channel> @here serch <!everyone> fever <@U999>", ts="1700000600.000100"))
    await settle(fake, lambda f: f.sent())
    everything = json.dumps([c.body for c in fake.sent()])
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U999>", "<@UBOT>"):
        assert ping not in everything


async def test_a_forged_event_is_rejected_and_answered_by_nobody(bot: Any, fake: Any) -> None:
    assert await deliver(bot, message_event("<@UBOT> what is HLH"), secret="not-the-secret") == 401
    await asyncio.sleep(0.2)
    assert fake.sent() == []


async def test_seen_events_forget_after_their_time_and_beyond_their_limit() -> None:
    now = [0.0]
    seen = MemorySeen(ttl=10, limit=3, clock=lambda: now[0])
    assert await seen.first_time("a") and not await seen.first_time("a")
    now[0] = 11
    assert await seen.first_time("a")  # an hour-old record no longer blocks
    for key in "bcd":
        assert await seen.first_time(key)
    assert await seen.first_time("a")  # pushed out by the limit


# ---------------------------------------------------------------- Socket Mode


def _envelope(envelope_id: str, event: dict[str, Any], *, retry: int = 0, event_id: str = "EvS1") -> dict[str, Any]:
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
        "payload": event_callback(event, event_id=event_id),
    }


async def test_mentions_and_dms_over_socket_mode_each_answered_once(fake: Any, engine: Any) -> None:
    app = build_app(engine, token=BOT_TOKEN, signing_secret=None, api_url=fake.api_url)
    handler = AsyncSocketModeHandler(app, "xapp-1-A1-test")
    try:
        await asyncio.wait_for(handler.connect_async(), 5)
        mention = message_event("<@UBOT> crs vs storm symptoms", ts="1700000700.000100")
        dm = message_event("thanks!", channel="D77", kind="message", ts="1700000800.000100")
        own = message_event("Did you know?", channel="D77", kind="message", user=BOT_USER, bot_id=BOT_ID, ts="1700000900.1")
        await fake.envelopes.put(_envelope("env-m", mention, event_id="EvS1"))
        await fake.envelopes.put(_envelope("env-d", dm, event_id="EvS2"))
        await fake.envelopes.put(_envelope("env-d2", dm, event_id="EvS2", retry=1))  # Slack's retry of the DM
        await fake.envelopes.put(_envelope("env-o", own, event_id="EvS3"))
        await fake.wait_for(lambda f: len(f.acks()) == 4 and len(posts(f)) == 2)
        await asyncio.sleep(0.3)
        assert sorted(a.body["envelope_id"] for a in fake.acks()) == ["env-d", "env-d2", "env-m", "env-o"]
        by_channel = {p.body["channel"]: p.body for p in posts(fake)}
        assert len(posts(fake)) == 2 and set(by_channel) == {"C123", "D77"}
        assert by_channel["C123"]["thread_ts"] == "1700000700.000100"
        assert by_channel["C123"]["blocks"] == render_message(engine.execute("crs vs storm symptoms", public=True))["blocks"]
        assert "You're welcome" in json.dumps(by_channel["D77"]["blocks"])
    finally:
        await asyncio.wait_for(handler.close_async(), 5)


async def test_a_failure_is_logged_without_the_question(bot: Any, fake: Any, caplog: Any) -> None:
    for _ in range(3):
        fake.fail_next("chat.postMessage", 200, {"ok": False, "error": "channel_not_found"})
    with caplog.at_level("DEBUG"):
        await deliver(bot, message_event("does patient 4711 have CRS?", channel="D42", kind="message", ts="1700000900.1"))
        await fake.wait_for(lambda f: f.api_calls("chat.postMessage"))
        await asyncio.sleep(0.3)
    assert "could not answer a direct in D42: channel_not_found" in caplog.text
    # Ours at any level, and every library's at INFO and above (the default): no question text.
    assert all("4711" not in r.getMessage() for r in caplog.records if r.name.startswith("cytobot") or r.levelno >= 20)
