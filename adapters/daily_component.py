"""Daily facts as a part of `cytobot run` (and `cytobot slack` / `cytobot discord`): a runner
component, and the posters of the platforms' clients.

Kept apart from `adapters.daily` so that `cytobot ask` never imports the runner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from adapters.inflight import INFLIGHT, Inflight
from adapters.run import Component
from bot.reply import Reply

if TYPE_CHECKING:
    from bot.daily.delivery import Poster, PostOutcome
    from bot.daily.service import DailyFacts

log = logging.getLogger("cytobot.daily")


class DailyComponent(Component):
    """Daily facts as a part of `cytobot run`: the scheduler starts after the platforms, says
    whether it is ready, claims nothing more when the drain begins, and lets the posts in flight
    finish before the platforms close (each post counts as in flight for the runner)."""

    name = "daily"

    def __init__(self, daily: DailyFacts, posters: Mapping[str, Poster], *, drain_seconds: float,
                 inflight: Inflight = INFLIGHT):
        self.daily = daily
        self.posters = {platform: TrackedPoster(poster, inflight) for platform, poster in posters.items()}
        self.drain_seconds = drain_seconds

    async def start(self) -> None:
        for platform, poster in self.posters.items():
            await self.daily.scheduler.attach(platform, poster)
        await self.daily.start()

    async def check(self) -> str | None:
        return self.daily.problem

    async def drain(self) -> None:
        await self.daily.drain()

    async def close(self) -> None:
        try:
            await self.daily.close(self.drain_seconds)
        finally:
            for tracked in self.posters.values():  # a poster with its own connections releases them
                closer = getattr(tracked.poster, "aclose", None)
                if closer is not None:
                    try:
                        await closer()
                    except Exception:
                        log.exception("daily facts: closing the %s poster failed", tracked.platform)


class TrackedPoster:
    """A poster whose every post counts as in flight, so the runner's drain waits for it."""

    def __init__(self, poster: Poster, inflight: Inflight):
        self.poster = poster
        self.platform = poster.platform
        self.rate = poster.rate
        self.inflight = inflight

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        with self.inflight.track():
            return await self.poster.post(channel, reply, key=key)


def platform_posters(slack: Any = None, discord: Any = None) -> dict[str, Poster]:
    """The posters of the platforms this process runs, from their services' clients.
    Each poster module comes with its adapter; a missing one is said once in the log."""
    posters: dict[str, Poster] = {}
    if slack is not None:
        try:
            from adapters.slack.poster import SlackPoster
        except ImportError:
            log.warning("daily facts are not posted on Slack: adapters/slack/poster.py is missing")
        else:
            posters["slack"] = SlackPoster(slack.app.client)
    if discord is not None:
        try:
            from adapters.discord.poster import DiscordPoster
        except ImportError:
            log.warning("daily facts are not posted on Discord: adapters/discord/poster.py is missing")
        else:
            posters["discord"] = FollowingPoster(lambda: discord.client, DiscordPoster)
    return posters


class FollowingPoster:
    """A poster for a client its service may replace (Discord's service builds a fresh client
    after a login that could not reach Discord): the poster follows the current one."""

    def __init__(self, client: Callable[[], Any], make: Callable[[Any], Poster]):
        self._client_now = client
        self._make = make
        self._client = client()
        self._poster = make(self._client)
        self.platform = self._poster.platform
        self.rate = self._poster.rate

    async def aclose(self) -> None:
        closer = getattr(self._poster, "aclose", None)
        if closer is not None:
            await closer()

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        client = self._client_now()
        if client is not self._client:
            self._client, self._poster = client, self._make(client)
        return await self._poster.post(channel, reply, key=key)
