"""Mentions and DMs through the real discord.py client and the loopback gateway: MESSAGE_CREATE
in, POST /channels/{id}/messages out, rendered like every other reply, never a ping."""

from __future__ import annotations

import asyncio
import json

import discord
import pytest

from adapters.discord.render import render_message
from tests.fakes.discord_api import BOT_ID, CHANNEL_ID, DM_CHANNEL_ID

pytestmark = pytest.mark.asyncio(loop_scope="module")

MENTION = f"<@{BOT_ID}>"


async def ask(running, payload: dict, channel: int) -> list:
    fake = running.fake
    before = len(fake.channel_posts(channel))
    await fake.send_message(payload)
    await fake.wait_for(lambda: len(fake.channel_posts(channel)) > before)
    return fake.channel_posts(channel)[before:]


async def quiet(running, payload: dict) -> None:
    """Dispatch a message that must get no answer; a plain DM after it proves the bot kept reading."""
    fake = running.fake
    before = len(fake.channel_posts())
    await fake.send_message(payload)
    [marker] = await ask(running, fake.message("what is HLH?", in_guild=False), DM_CHANNEL_ID)
    assert len(fake.channel_posts()) == before + 1
    assert "Hemophagocytic" in json.dumps(marker.body["embeds"])


async def test_intents_are_the_defaults_with_no_privileged_message_content(running) -> None:
    assert running.client.intents == discord.Intents.default()
    assert not running.client.intents.message_content
    assert running.fake.identifies[0]["intents"] == discord.Intents.default().value


async def test_a_message_mentioning_the_bot_gets_a_reply(running) -> None:
    fake = running.fake
    payload = fake.message(f"{MENTION} what is the difference between crs and cytokine storm?", mentions=(BOT_ID,))
    [post] = await ask(running, payload, CHANNEL_ID)
    reply = running.engine.execute("what is the difference between crs and cytokine storm?", public=True)
    expected = render_message(reply)
    assert post.body["embeds"] == expected["embeds"]
    assert post.body["embeds"][0]["title"] == "Cytokine release syndrome vs cytokine storm"
    assert str(post.body["message_reference"]["message_id"]) == payload["id"]  # a reply to the question
    assert post.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert not post.body.get("components")  # public: nothing to share
    assert not post.body.get("flags")  # not ephemeral: messages cannot be


async def test_a_command_after_the_mention_runs_it(running) -> None:
    fake = running.fake
    [post] = await ask(running, fake.message(f"{MENTION} topic il6", mentions=(BOT_ID,)), CHANNEL_ID)
    assert post.body["embeds"][0]["title"] == "Interleukin-6 (IL-6)"
    [post] = await ask(running, fake.message(f"<@!{BOT_ID}> serch fever", mentions=(BOT_ID,)), CHANNEL_ID)
    assert post.body["embeds"][0]["title"] == "Search: fever"
    assert "I read “serch” as the command “search”." in post.body["content"]


async def test_a_direct_message_gets_a_reply_in_the_dm(running) -> None:
    fake = running.fake
    [post] = await ask(running, fake.message("how is CRS graded?", in_guild=False), DM_CHANNEL_ID)
    assert post.body["embeds"][0]["title"] == "ASTCT consensus grading of CRS"
    [hello] = await ask(running, fake.message("hi", in_guild=False), DM_CHANNEL_ID)
    assert hello.body["embeds"][0]["title"] == "Hello!"


async def test_everyone_in_the_question_pings_nobody(running) -> None:
    fake = running.fake
    payload = fake.message(f"@everyone {MENTION} @here what is HLH <@1300000000000000009> <@&555>",
                           mentions=(BOT_ID, 1300000000000000009), mention_everyone=True)
    [post] = await ask(running, payload, CHANNEL_ID)
    assert post.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    sent = json.dumps(post.body)
    for ping in ("@everyone", "@here", "<@1300000000000000009>", "<@&555>", f"<@{BOT_ID}>"):
        assert ping not in sent
    assert post.body["embeds"][0]["title"] == "Hemophagocytic lymphohistiocytosis (HLH)"


async def test_messages_from_bots_or_without_a_mention_get_no_answer(running) -> None:
    fake = running.fake
    await quiet(running, fake.message(f"{MENTION} what is HLH", mentions=(BOT_ID,), author_id=1400000000000000001, bot=True))
    await quiet(running, fake.message("what is HLH", author_id=BOT_ID, username="cytobot", bot=True, in_guild=False))
    await quiet(running, fake.message("what is HLH in the channel"))  # no mention
    await quiet(running, fake.message("@everyone what is HLH", mention_everyone=True))  # everyone is not the bot
    await quiet(running, fake.message(f"{MENTION}", mentions=(BOT_ID,), type=7))  # a join notice, not a question


async def test_an_answer_that_fails_to_render_is_logged_not_raised(running, caplog) -> None:
    fake = running.fake
    engine = running.client.engine

    class Broken:
        async def handle(self, request):
            raise RuntimeError("kaput")

    running.client.engine = Broken()  # type: ignore[assignment]
    try:
        with caplog.at_level("ERROR"):
            await fake.send_message(fake.message(f"{MENTION} secret patient question", mentions=(BOT_ID,)))
            await asyncio.sleep(0.3)
    finally:
        running.client.engine = engine
    assert "failed to answer a mention" in caplog.text
    assert "secret patient question" not in caplog.text  # logs never hold what was typed
