"""Daily-fact fixtures: a real store (on `db_url` from tests/conftest.py: SQLite always,
PostgreSQL when CYTOBOT_TEST_POSTGRES_URL is set, each in a fresh database), a recording
in-memory poster whose answers a test can script, and a scheduler wired the way the bot wires
it (the `fact` command through the engine)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.daily.clock import SteppingClock
from bot.daily.delivery import Permanent, PostOutcome, RetryAfter, Scope, Sent
from bot.daily.scheduler import Scheduler, SchedulerSettings
from bot.daily.service import DailyService, fact_composer
from bot.daily.store import Store
from bot.engine import Engine
from bot.reply import Reply
from bot.request import Caller

UTC = timezone.utc


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/daily.db"


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()


@dataclass
class Post:
    channel: str
    key: str
    fact_id: str
    at: datetime
    message_id: str


Script = Callable[[str, int], "PostOutcome | None"]  # (channel, attempt number) -> outcome, None = send


@dataclass
class RecordingPoster:
    """An in-memory platform: records every accepted post; `script` decides other answers."""

    clock: object
    platform: str = "test"
    rate: float = 1000.0
    script: Script | None = None
    delay: Callable[[str], float] | None = None  # real seconds a send takes, per channel
    posts: list[Post] = field(default_factory=list)
    calls: list[tuple[str, str, object]] = field(default_factory=list)  # every call: channel, key, outcome
    attempts: dict[str, int] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)  # channels, as each call begins

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        self.started.append(channel)
        attempt = self.attempts[key] = self.attempts.get(key, 0) + 1
        if self.delay is not None:
            await asyncio.sleep(self.delay(channel))
        outcome = self.script(channel, attempt) if self.script is not None else None
        if outcome is None:
            fact_id = next(f.value for c in reply.cards for f in c.fields if f.name == "Fact id")
            outcome = Sent(f"m{len(self.posts) + 1}")
            self.posts.append(Post(channel, key, fact_id, self.clock.now(), outcome.message_id))  # type: ignore[attr-defined]
        self.calls.append((channel, key, outcome))
        return outcome


class StopClock(SteppingClock):
    """Virtual time for schedulers under test. Time moves only when every scheduler worker is
    asleep and no send is in flight, straight to the earliest wake-up: so a send sees the
    instant it was started at, a claim never outlives its lease while its holder still works,
    and a year runs in seconds. It never moves past `end`: then `reached` is set and the
    sleepers wait for a later `end` (see `Daily.run_until`)."""

    def __init__(self, start: datetime, end: datetime | None = None):
        super().__init__(start)
        self.end = end
        self.reached = asyncio.Event()
        self.schedulers: list[Scheduler] = []
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._advancing = False

    def _participants(self) -> int:
        return sum(len(s.posters) for s in self.schedulers if s.running)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        entry = (self.now() + timedelta(seconds=seconds), asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            self.kick()
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    def kick(self) -> None:
        """Try to move time on (a sleeper arrived, or `end` was moved)."""
        if not self._advancing:
            self._advancing = True
            asyncio.get_running_loop().create_task(self._advance())

    async def _advance(self) -> None:
        try:
            while True:
                await settle()
                waiting = [e for e in self._sleepers if not e[1].done()]
                if not waiting or len(waiting) < self._participants():
                    return  # someone is still working; their next sleep tries again
                if any(s.in_flight for s in self.schedulers):  # a send's store writes are real I/O
                    await asyncio.gather(*(s.sends_done() for s in self.schedulers))
                    continue
                target = min(t for t, _ in waiting)
                if self.end is not None and target >= self.end:
                    self.set(self.end)
                    self.reached.set()
                    return
                self.set(target)
                for t, future in waiting:
                    if t <= target:
                        future.set_result(None)
                return
        finally:
            self._advancing = False


async def settle(rounds: int = 50) -> None:
    """Let every ready task run. Reads the event loop's private ready queue: test machinery only."""
    loop = asyncio.get_running_loop()
    for _ in range(rounds):
        await asyncio.sleep(0)
        if not loop._ready:  # type: ignore[attr-defined]
            return


@dataclass
class Daily:
    """One scheduler and its service on a store, as the bot wires them."""

    store: Store
    scheduler: Scheduler
    service: DailyService
    poster: RecordingPoster
    clock: SteppingClock
    engine: Engine

    async def run_until(self, end: datetime) -> None:
        """Run the real scheduler on virtual time until nothing is left to do before `end`."""
        clock = self.clock
        assert isinstance(clock, StopClock)
        clock.end = end
        clock.reached.clear()
        if not self.scheduler.running:
            await self.scheduler.start()
        clock.kick()
        await asyncio.wait_for(clock.reached.wait(), timeout=300)

    async def stop(self) -> None:
        await self.scheduler.stop(timeout=10)


def caller(channel: str, platform: str = "test", *, manage: bool = True) -> Caller:
    return Caller(platform=platform, workspace="W1", channel=channel, user_id="U1", display_name="tester",
                  may_manage=manage, managers="channel admins")


@pytest.fixture
async def make_daily(catalog: Catalog) -> AsyncIterator[Callable[..., Daily]]:
    """`make_daily(store, clock, **options)`: a scheduler and service, stopped after the test
    (before its store closes)."""
    made: list[Daily] = []

    def make(store: Store, clock: SteppingClock, **options: object) -> Daily:
        daily = build(store, catalog, clock, **options)  # type: ignore[arg-type]
        made.append(daily)
        return daily

    yield make
    for daily in made:
        await daily.stop()


def build(store: Store, catalog: Catalog, clock: SteppingClock, *, poster: RecordingPoster | None = None,
          settings: SchedulerSettings | None = None, facts: Callable[[], Iterable[str]] | None = None,
          holder: str | None = None) -> Daily:
    engine = Engine(catalog, rng=random.Random(3))
    poster = poster or RecordingPoster(clock)
    facts = facts or (lambda: engine.catalog.facts.keys())
    settings = settings or SchedulerSettings(poll=7 * 86400)
    scheduler = Scheduler(store, {poster.platform: poster}, fact_composer(lambda: engine), facts, clock=clock,
                          settings=settings, holder=holder)
    if isinstance(clock, StopClock):
        clock.schedulers.append(scheduler)
    service = DailyService(store, facts, clock=clock, catch_up=settings.catch_up, scheduler=scheduler, rng=random.Random(5))
    return Daily(store, scheduler, service, poster, clock, engine)


__all__ = ["Daily", "Permanent", "RecordingPoster", "RetryAfter", "Scope", "StopClock", "build", "caller"]
