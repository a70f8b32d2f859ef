"""Daily facts as a part of `cytobot run` (and `cytobot slack` / `cytobot discord`): a runner
component, and the posters of the platforms' clients.

Kept apart from `adapters.daily` so that `cytobot ask` never imports the runner.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from adapters.inflight import INFLIGHT, Inflight
from adapters.run import RETRY_FIRST, RETRY_MAX, Component, Fatal
from bot.reply import Reply

if TYPE_CHECKING:
    from bot.daily.delivery import Poster, PostOutcome
    from bot.daily.service import DailyFacts

log = logging.getLogger("cytobot.daily")

READY_CACHE_ENV = "CYTOBOT_DATABASE_READY_CACHE"
DEFAULT_READY_CACHE = 2.0  # seconds a readiness answer about the database is reused
PING_WAIT = 1.5  # seconds /readyz waits for the database's answer (the runner allows a check 2 s)
# TEST ONLY: posts per second on each platform (instead of the posters' 1 on Slack, 50 on
# Discord), so a fault test fans out hundreds of posts at a pace of its choosing. Not for
# production use.
TEST_RATE_ENV = "CYTOBOT_TEST_ONLY_POST_RATE"


def ready_cache(env: Mapping[str, str] | None = None) -> float:
    raw = (os.environ if env is None else env).get(READY_CACHE_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_READY_CACHE
    except ValueError:
        return DEFAULT_READY_CACHE  # adapters.settings refuses it at start-up with a message


class DailyComponent(Component):
    """Daily facts as a part of `cytobot run`: the scheduler starts after the platforms, says
    whether it is ready, claims nothing more when the drain begins, and lets the posts in flight
    finish before the platforms close (each post counts as in flight for the runner)."""

    name = "daily"

    def __init__(self, daily: DailyFacts, posters: Mapping[str, Poster], *, drain_seconds: float,
                 inflight: Inflight = INFLIGHT, cache_seconds: float | None = None):
        self.daily = daily
        self.posters = {platform: TrackedPoster(poster, inflight) for platform, poster in posters.items()}
        self.drain_seconds = drain_seconds
        self.cache_seconds = ready_cache() if cache_seconds is None else cache_seconds
        self._connected = False
        self._ping: asyncio.Task[None] | None = None
        self._pinged: tuple[float, str | None] | None = None  # (time.monotonic(), the answer)

    async def start(self) -> None:
        for platform, poster in self.posters.items():
            await self.daily.scheduler.attach(platform, poster)
        self.problem = "daily facts: connecting to the database"
        from bot.daily.migrate import DatabaseTooNew

        try:
            connected = await self._connect_once()  # the usual case: the database is there at start
        except DatabaseTooNew as exc:
            raise self.failure(exc) from None
        self.task = asyncio.create_task(self._run(connected), name="daily-connect")

    async def _connect_once(self) -> Exception | None:
        """One attempt to reach the database (migrating it) and start the scheduler: None when
        it worked, else the failure. A database a newer cytobot migrated raises."""
        from bot.daily.migrate import DatabaseTooNew

        try:
            if not self.daily.store.migrated:
                await self.daily.store.upgrade()
            await self.daily.start()
        except (DatabaseTooNew, asyncio.CancelledError):
            raise
        except Exception as exc:
            return exc
        self._connected = True
        self.problem = None
        return None

    async def _run(self, failure: Exception | None) -> None:
        """While the database cannot be reached, retry like the platforms (doubling pauses up to
        a minute), with the reason in /readyz. Then stay: the scheduler's workers run on their own."""
        from bot.daily.health import failure_reason

        pause = RETRY_FIRST
        while failure is not None:
            reason = failure_reason(failure, self.daily.store.health.statement_timeout)
            self.report(f"daily facts: cannot reach the database ({reason}); retrying")
            log.warning("daily facts: cannot reach the database %s (%s); retrying in %.0f s",
                        self.daily.store.where, reason, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX)
            failure = await self._connect_once()
        await asyncio.Event().wait()  # until the runner cancels it at shutdown

    def failure(self, exc: BaseException) -> Fatal:
        from adapters.daily import explain

        return Fatal(explain(exc), 1)

    async def check(self) -> str | None:
        if not self._connected:
            return self.problem or "daily facts: not started"
        return await self._database() or self.daily.problem

    async def _database(self) -> str | None:
        """Whether the database answers a cheap query, asked at most every `cache_seconds`."""
        now = time.monotonic()
        if self._pinged is not None and now - self._pinged[0] < self.cache_seconds:
            return self._pinged[1]
        if self._ping is None or self._ping.done():
            self._ping = asyncio.create_task(self.daily.store.ping())
            # A ping that outlives the wait ends later; its failure is the store's to count and log.
            self._ping.add_done_callback(lambda task: task.cancelled() or task.exception())
        try:
            await asyncio.wait_for(asyncio.shield(self._ping), PING_WAIT)
            answer = None
        except TimeoutError:
            answer = f"daily facts: the database cannot be reached (no answer within {PING_WAIT:g} s)"
        except Exception:
            answer = self.daily.store.health.problem or "daily facts: the database cannot be reached"
        self._pinged = (time.monotonic(), answer)
        return answer

    async def drain(self) -> None:
        if not self._connected and self.task is not None:
            self.task.cancel()  # still trying to reach the database: stop trying
        await self.daily.drain()

    async def close(self) -> None:
        if self._ping is not None and not self._ping.done():
            self._ping.cancel()
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
    test_rate = os.environ.get(TEST_RATE_ENV, "").strip()
    rate: dict[str, float] = {}
    if test_rate:
        log.warning("daily facts: test-only posting rate in use (%s)", TEST_RATE_ENV)
        rate = {"rate": float(test_rate)}
    if slack is not None:
        try:
            from adapters.slack.poster import SlackPoster
        except ImportError:
            log.warning("daily facts are not posted on Slack: adapters/slack/poster.py is missing")
        else:
            posters["slack"] = SlackPoster(slack.app.client, **rate)
    if discord is not None:
        try:
            from adapters.discord.poster import DiscordPoster
        except ImportError:
            log.warning("daily facts are not posted on Discord: adapters/discord/poster.py is missing")
        else:
            posters["discord"] = FollowingPoster(lambda: discord.client, lambda client: DiscordPoster(client, **rate))
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
