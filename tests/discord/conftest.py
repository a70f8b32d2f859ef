"""Fixtures: the real discord.py client, logged in and connected to the loopback fake Discord."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from adapters.discord.client import CytobotClient, build_client, point_discord_py_at
from bot.engine import Engine
from tests.fakes.discord_api import FakeDiscord

CONTENT = Path(__file__).resolve().parents[2] / "content"
TOKEN = "test-token"


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.load(CONTENT)


@dataclass
class Running:
    fake: FakeDiscord
    client: CytobotClient
    engine: Engine


async def _wait_ready(client: discord.Client, task: asyncio.Task, timeout: float) -> None:
    ready = asyncio.ensure_future(client.wait_until_ready())
    done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()  # re-raise why the client stopped
        raise TimeoutError("the client did not become ready")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(engine: Engine) -> AsyncIterator[Running]:
    """One fake Discord and one connected client per test module (fast, and still a real client)."""
    logging.getLogger("discord").setLevel(logging.WARNING)
    fake = await FakeDiscord().start()
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    point_discord_py_at(fake.api_url, fake.gateway_url)
    client = build_client(engine, sync=True, guild_ready_timeout=0.05)
    task = asyncio.create_task(client.start(TOKEN))
    try:
        await _wait_ready(client, task, timeout=10)
        yield Running(fake, client, engine)
    finally:
        await asyncio.wait_for(client.close(), 5)
        try:
            await asyncio.wait_for(task, 5)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            task.cancel()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        await fake.stop()
