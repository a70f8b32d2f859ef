"""Fixtures: a started loopback fake of Slack, the real engine, and the real bolt app served
over HTTP on 127.0.0.1 with an ephemeral port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from adapters.slack.app import build_app
from adapters.slack.http import EVENTS_PATH, HttpServer, start_http
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import SIGNING_SECRET, action_body, share_payload, signed_headers, slash_command_body

BOT_TOKEN = "xoxb-1-test"
TIMEOUT = aiohttp.ClientTimeout(total=10)


@pytest.fixture(scope="session")
def engine() -> Any:
    from bot.engine import Engine

    return Engine.from_env()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass
class HttpBot:
    """The real app over loopback HTTP, plus helpers that speak to it the way Slack does."""

    url: str
    fake: FakeSlack
    session: aiohttp.ClientSession

    async def post(self, body: str, headers: dict[str, str]) -> aiohttp.ClientResponse:
        async with self.session.post(self.url, data=body.encode(), headers=headers) as resp:
            await resp.read()
            return resp

    async def command(self, text: str, rid: str = "cmd", **kw: Any) -> aiohttp.ClientResponse:
        body = slash_command_body(text, self.fake.response_url(rid), **kw)
        return await self.post(body, signed_headers(body))

    async def click_share(self, command_line: str, rid: str = "click", **kw: Any) -> aiohttp.ClientResponse:
        body = action_body(share_payload(command_line, self.fake.response_url(rid), **kw))
        return await self.post(body, signed_headers(body))


async def _serve(engine: Any, fake: FakeSlack, seen: Any = None) -> tuple[HttpServer, aiohttp.ClientSession]:
    app = build_app(engine, token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.api_url, seen=seen)
    server = await start_http(app, "127.0.0.1", 0, signing_secret=SIGNING_SECRET)
    return server, aiohttp.ClientSession(timeout=TIMEOUT)


@pytest.fixture
async def make_bot(fake: FakeSlack) -> AsyncIterator[Any]:
    """Factory: `await make_bot(engine)` serves that engine (real or a failing stand-in);
    `seen=` gives the app a record of answered events (default: its own, in memory)."""
    opened: list[tuple[HttpServer, aiohttp.ClientSession]] = []

    async def _make(engine: Any, seen: Any = None) -> HttpBot:
        server, session = await _serve(engine, fake, seen)
        opened.append((server, session))
        return HttpBot(f"http://127.0.0.1:{server.port}{EVENTS_PATH}", fake, session)

    yield _make
    for server, session in opened:
        await session.close()
        await server.close()
    await asyncio.sleep(0)


@pytest.fixture
async def bot(make_bot: Any, engine: Any) -> HttpBot:
    return await make_bot(engine)
