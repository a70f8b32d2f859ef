"""The Discord adapter as a component of the runner.

discord.py logs in, connects the gateway (one websocket per shard this replica runs) and
reconnects by itself; this component starts it, reports ready while every shard is
connected, and closes it after the drain (answers in flight go out over REST first).
A token Discord rejects stops the process with exit code 2.
"""

from __future__ import annotations

import asyncio
import logging

from adapters.discord.cli import Settings, describe_failure
from adapters.discord.client import CytobotClient, build_client, not_ready
from adapters.run import UNREACHABLE, Component, Fatal, until_reachable
from bot.engine import Engine

log = logging.getLogger("cytobot.discord")


class DiscordService(Component):
    name = "discord"

    def __init__(self, engine: Engine, settings: Settings, **client_kwargs: object):
        self.settings = settings
        self._build = lambda: build_client(
            engine, command_name=settings.command_name, sync=settings.sync, guild_id=settings.guild_id,
            shard_ids=settings.shard_ids, shard_count=settings.shard_count, **client_kwargs)
        self.client: CytobotClient = self._build()

    async def start(self) -> None:
        # Logging in is retried while Discord is unreachable; once connected, discord.py
        # reconnects the gateway by itself.
        self.task = asyncio.create_task(until_reachable(self._run_client, "Discord", self.report, log), name="discord")
        shards = self.settings.shard_ids or (range(self.settings.shard_count) if self.settings.shard_count else None)
        log.info("Discord: connecting%s", f" shards {', '.join(map(str, shards))} of {self.settings.shard_count}" if shards else "")

    async def _run_client(self) -> None:
        try:
            await self.client.start(self.settings.token)
        except UNREACHABLE:
            # A failed login leaves its HTTP session behind; the next attempt gets a fresh client.
            await self.client.close()
            self.client = self._build()
            raise

    async def check(self) -> str | None:
        reason = not_ready(self.client)
        if reason == "connecting to the gateway" and self.problem:
            reason = self.problem
        return f"discord: {reason}" if reason else None

    async def close(self) -> None:
        await self.client.close()

    def failure(self, exc: BaseException) -> Fatal:
        described = describe_failure(exc)
        return Fatal(*described) if described else super().failure(exc)
