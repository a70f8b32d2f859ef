"""Hostile text echoed on Discord, through the real discord.py client and the loopback fake:
a masked link or a bare URL typed by a user never becomes a link, markdown typed by a user is
shown as typed, and no mention syntax survives; the pack's own source links stay links."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from adapters.discord.render import render_message
from tests.discord.test_interactions import APPLICATION_COMMAND, command
from tests.discord.test_messages import MENTION, ask
from tests.fakes.discord_api import BOT_ID, CHANNEL_ID

pytestmark = pytest.mark.asyncio(loop_scope="module")

MASKED = "[Official IL-6 guideline](http://evil.example/login)"
BARE = "https://evil.example/reset"
# What Discord would turn into a link: a URL with its scheme whole, or unescaped masked-link syntax.
LINK = re.compile(r"(?i)\bhttps?://evil|(?<!\\)\[[^\]]*\]\(\s*<?https?:")


def texts(payload: dict[str, Any]) -> str:
    """Every string Discord renders in a message: content, titles, descriptions, fields, footers."""
    parts = [payload.get("content") or ""]
    for embed in payload.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", ""), (embed.get("footer") or {}).get("text", "")]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def test_a_mention_echoing_a_masked_link_makes_no_link(running) -> None:
    fake = running.fake
    payload = fake.message(f"{MENTION} topic {MASKED} {BARE}", mentions=(BOT_ID,))
    [post] = await ask(running, payload, CHANNEL_ID)
    shown = texts(post.body)
    assert "No topic matches" in shown and "evil.example/login" in shown  # echoed, readable...
    assert not LINK.search(shown), shown  # ...but not a link
    assert post.body["allowed_mentions"]["parse"] == []


@pytest.mark.parametrize("sub,options", [
    ("search", {"words": f"{MASKED} {BARE}"}),
    ("topic", {"query": f"{MASKED} **bold** __under__"}),
    ("sources", {"id": MASKED}),
    ("fact", {"which": BARE}),
])
async def test_slash_commands_echo_user_text_inert(running, sub: str, options: dict[str, str]) -> None:
    call = await running.fake.interact(running.fake.interaction(APPLICATION_COMMAND, command(sub, options)))
    shown = texts(call.body["data"])
    assert "evil.example" in shown and not LINK.search(shown), shown
    for typed in ("**bold**", "__under__"):
        assert typed not in shown  # escaped: shown as typed, not formatted


async def test_the_notice_and_mentions_are_inert_too(running) -> None:
    fake = running.fake
    text = f"{MENTION} serch {BARE} @everyone"
    [post] = await ask(running, fake.message(text, mentions=(BOT_ID,)), CHANNEL_ID)
    shown = texts(post.body)
    assert "serch" in shown and not LINK.search(shown), shown
    assert "@everyone" not in shown


async def test_the_packs_source_links_stay_links(engine) -> None:
    shown = texts(render_message(engine.execute("sources lee19")))
    assert "https://doi.org/10.1016/j.bbmt.2018.12.758" in shown
    assert json.dumps(render_message(engine.execute("sources lee19"))).count("\\u200b//") == 0
