"""HTTP mode end to end: the real bolt app on loopback, signed requests, a fake Slack."""

from __future__ import annotations

import json
import time
from typing import Any

from adapters.slack.render import escape, render_message
from bot.reply import Action, ActionKind, Card, Field, Footer, Reply, SourceRef, Table, Visibility
from tests.fakes.slack_signing import SIGNING_SECRET, signed_headers, slash_command_body
from tests.slack.blockkit_check import check_message


def _everything_sent(fake: Any) -> str:
    return json.dumps([c.body for c in fake.sent()], ensure_ascii=False)


async def test_command_answers_privately_with_the_card_and_a_share_button(bot: Any, fake: Any, engine: Any) -> None:
    resp = await bot.command("compare severity")
    assert resp.status == 200
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    reply = engine.execute("compare severity")
    assert reply.visibility is Visibility.PRIVATE and not reply.is_error
    assert sent.body["response_type"] == "ephemeral"
    assert sent.body["blocks"] == render_message(reply)["blocks"]
    assert sent.body["blocks"][0]["type"] == "header"
    assert check_message(sent.body) == []
    [actions] = [b for b in sent.body["blocks"] if b["type"] == "actions"]
    share = [a for a in reply.actions if a.kind is ActionKind.SHARE]
    assert [e["value"] for e in actions["elements"]] == [a.command for a in share]
    # The disclaimer is on the card, in its context footer.
    footers = [e["text"] for b in sent.body["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert escape(reply.cards[0].footer.disclaimer) in footers


async def test_public_as_last_word_posts_in_channel_without_a_share_button(bot: Any, fake: Any) -> None:
    assert (await bot.command("compare severity public")).status == 200
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    assert sent.body["response_type"] == "in_channel"
    assert not [b for b in sent.body["blocks"] if b["type"] == "actions"]
    assert fake.api_calls("chat.postMessage") == []


async def test_bad_signature_is_rejected_and_changes_nothing(bot: Any, fake: Any) -> None:
    body = slash_command_body("compare severity", fake.response_url("forged"))
    headers = signed_headers(body, secret="not-the-secret")
    assert (await bot.post(body, headers)).status == 401
    tampered = signed_headers(body)
    assert (await bot.post(body.replace("severity", "onset"), tampered)).status == 401
    # A genuine request afterwards is the only thing that reaches Slack.
    assert (await bot.command("help", rid="genuine")).status == 200
    await fake.wait_for(lambda f: f.responses())
    assert [c.name for c in fake.responses()] == ["genuine"]
    assert fake.api_calls("chat.postMessage") == []


async def test_stale_timestamp_is_rejected_and_changes_nothing(bot: Any, fake: Any) -> None:
    body = slash_command_body("compare severity", fake.response_url("replayed"))
    headers = signed_headers(body, secret=SIGNING_SECRET, timestamp=int(time.time()) - 301)
    assert (await bot.post(body, headers)).status == 401
    assert (await bot.command("about", rid="genuine")).status == 200
    await fake.wait_for(lambda f: f.responses())
    assert [c.name for c in fake.responses()] == ["genuine"]


async def test_share_posts_the_card_publicly_naming_the_sharer_without_a_ping(bot: Any, fake: Any, engine: Any) -> None:
    command_line = engine.execute("compare severity").actions[0].command
    assert (await bot.click_share(command_line, user_name="alice", user_id="U777")).status == 200
    await fake.wait_for(lambda f: f.api_calls("chat.postMessage") and f.responses())
    [post] = fake.api_calls("chat.postMessage")
    assert post.body["channel"] == "C123"
    public = engine.execute(command_line, public=True)
    assert post.body["blocks"][1:] == render_message(public)["blocks"]
    assert "Shared by alice" in json.dumps(post.body["blocks"][0])
    assert "Shared by alice" in post.body["text"]
    everything = _everything_sent(fake)
    assert "<@" not in everything and "U777" not in everything
    assert not [b for b in post.body["blocks"] if b["type"] == "actions"]
    assert check_message(post.body) == []
    # The private copy is removed so it is not shared twice.
    [cleanup] = fake.responses()
    assert cleanup.body.get("delete_original") is True


async def test_share_where_the_bot_cannot_post_tells_the_user_privately(bot: Any, fake: Any, engine: Any) -> None:
    fake.fail_next("chat.postMessage", body={"ok": False, "error": "not_in_channel"})
    command_line = engine.execute("compare severity").actions[0].command
    await bot.click_share(command_line)
    await fake.wait_for(lambda f: f.responses())
    [note] = fake.responses()
    assert note.body["response_type"] == "ephemeral"
    assert note.body.get("replace_original") is False
    assert "/invite" in note.body["text"] and "public" in note.body["text"]
    assert len(fake.api_calls("chat.postMessage")) == 1  # a permanent error is not retried


async def test_sharer_name_is_escaped(bot: Any, fake: Any, engine: Any) -> None:
    command_line = engine.execute("compare severity").actions[0].command
    await bot.click_share(command_line, user_name="eve<!channel>")
    await fake.wait_for(lambda f: f.api_calls("chat.postMessage"))
    everything = _everything_sent(fake)
    assert "<!channel>" not in everything
    assert "eve&lt;!channel&gt;" in everything


async def test_user_text_echoed_back_is_escaped(bot: Any, fake: Any) -> None:
    for n, text in enumerate(["topic <!channel>", "search <!here> & <@U123>", "<!everyone> public", "compare <b> <!subteam^S1>"]):
        await bot.command(text, rid=f"r{n}")
    await fake.wait_for(lambda f: len(f.responses()) == 4)
    everything = _everything_sent(fake)
    for raw in ("<!channel>", "<!here>", "<@U123>", "<!everyone>", "<!subteam", "<b>"):
        assert raw not in everything
    for call in fake.responses():
        assert check_message(call.body) == [], call.body


async def test_unknown_command_gets_a_friendly_private_answer(bot: Any, fake: Any, engine: Any) -> None:
    await bot.command("frobnicate the widgets public")
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    assert engine.execute("frobnicate the widgets").is_error
    assert sent.body["response_type"] == "ephemeral"  # errors never go to the channel
    assert sent.body["text"].strip()
    assert check_message(sent.body) == []


class _Boom:
    """An engine whose every call fails, standing in for a bug in the core."""

    async def handle(self, request: Any) -> Any:
        raise RuntimeError("engine exploded")


async def test_engine_exception_reaches_the_user_as_a_friendly_private_message(make_bot: Any, fake: Any) -> None:
    bot = await make_bot(_Boom())
    resp = await bot.command("compare severity")
    assert resp.status == 200  # acked: Slack shows no dispatch_failed
    await fake.wait_for(lambda f: f.responses())
    [sent] = fake.responses()
    assert sent.body["response_type"] == "ephemeral"
    assert "Sorry" in sent.body["text"] and "exploded" not in sent.body["text"]
    await bot.click_share("compare severity", rid="click")
    await fake.wait_for(lambda f: len(f.responses()) == 2)
    assert "Sorry" in fake.responses()[1].body["text"]
    assert fake.api_calls("chat.postMessage") == []


async def test_share_waits_out_a_429_and_retries(bot: Any, fake: Any, engine: Any) -> None:
    fake.fail_next("chat.postMessage", status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"})
    command_line = engine.execute("compare severity").actions[0].command
    await bot.click_share(command_line)
    await fake.wait_for(lambda f: f.responses(), timeout=8)
    first, second = fake.api_calls("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9  # Retry-After honoured (a lower bound, not a speed test)
    assert first.body == second.body
    assert fake.responses()[0].body.get("delete_original") is True


async def test_share_retries_a_server_error(bot: Any, fake: Any, engine: Any) -> None:
    fake.fail_next("chat.postMessage", status=500, body={"ok": False, "error": "internal_error"})
    command_line = engine.execute("compare severity").actions[0].command
    await bot.click_share(command_line)
    await fake.wait_for(lambda f: f.responses(), timeout=8)
    assert [c.status for c in fake.api_calls("chat.postMessage")] == [500, 200]
    assert fake.responses()[0].body.get("delete_original") is True


class _Echo:
    """An engine that echoes the user's words verbatim into every part of a card, so the test
    does not depend on how much the core itself cleans its input."""

    async def handle(self, request: Any) -> Reply:
        text, public = request.line, request.public
        card = Card(title=text, body=text, subtitle=text, fields=(Field(text, text, True), Field(text, text)), table=Table(("Aspect", text), ((text, text),)), footer=Footer(text, (SourceRef("s", text, "https://example.org/?q=<!channel>"),)))
        return Reply((card,), Visibility.PUBLIC if public else Visibility.PRIVATE, (Action(ActionKind.SHARE, text, "topic crs"),))


async def test_adapter_escapes_whatever_the_core_echoes(make_bot: Any, fake: Any) -> None:
    bot = await make_bot(_Echo())
    await bot.command("<!channel> <!here> <@U123> <!subteam^S1> & <https://evil.example|click>")
    await fake.wait_for(lambda f: f.responses())
    everything = _everything_sent(fake)
    for raw in ("<!channel>", "<!here>", "<@U123>", "<!subteam", "<https://evil"):
        assert raw not in everything
    assert "&lt;!channel&gt;" in everything
    assert check_message(fake.responses()[0].body) == []
