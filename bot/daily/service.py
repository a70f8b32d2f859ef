"""Daily facts as the commands see them: subscribe, unsubscribe, status, preview, resume.

The service ties the store, the rotation and the scheduler together for `bot.commands.daily`
(reached as `ctx.services["daily"]`), and `DailyFacts` is the whole feature for a process:
store, scheduler and service opened, started and stopped together.
"""

from __future__ import annotations

import contextlib
import logging
import random
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from ..commands.base import UserError
from ..observe import Observer
from ..request import Caller, Origin, Request
from .clock import SYSTEM_CLOCK, Clock
from .delivery import Poster
from .rotation import left_in_cycle, upcoming
from .schedule import zone as load_zone
from .scheduler import Compose, Scheduler, SchedulerSettings
from .records import Delivery, PlatformPause, Status, Subscription
from .store import OtherWorkspace, Store

if TYPE_CHECKING:
    from ..engine import Engine

log = logging.getLogger("cytobot.daily")


@dataclass(frozen=True, slots=True)
class DailyStatus:
    """What `daily status` shows for one channel."""

    subscription: Subscription
    next_post: datetime | None  # UTC; None while paused or stopped
    last: Delivery | None
    facts_left: int  # in this cycle, counting the next one
    platform_pause: PlatformPause | None


@dataclass(frozen=True, slots=True)
class Resumed:
    """What `daily resume` changed: the channel, the platform, both or neither."""

    subscription: Subscription | None
    channel_resumed: bool
    platform_resumed: bool


class DailyService:
    def __init__(
        self,
        store: Store,
        facts: Callable[[], Iterable[str]],
        *,
        clock: Clock = SYSTEM_CLOCK,
        catch_up: timedelta = SchedulerSettings().catch_up,
        scheduler: Scheduler | None = None,
        rng: random.Random | None = None,
    ):
        self.store = store
        self.facts = facts
        self.clock = clock
        self.catch_up = catch_up
        self.scheduler = scheduler
        self._rng = rng

    def _seed(self) -> int:
        return self._rng.getrandbits(62) if self._rng is not None else secrets.randbits(62)

    def _changed(self, platform: str) -> None:
        if self.scheduler is not None:
            self.scheduler.wake(platform)

    async def subscription(self, caller: Caller) -> Subscription | None:
        """This channel's subscription as made from the caller's workspace."""
        return await self.store.get(caller.platform, caller.channel, caller.workspace)

    async def subscribe(self, caller: Caller, at: time, zone: str) -> Subscription:
        load_zone(zone)  # raises UnknownZone before anything is stored
        with _refused_elsewhere():
            sub = await self.store.subscribe(platform=caller.platform, workspace=caller.workspace, channel=caller.channel,
                                             at=at, zone=zone, by=caller.user_id, now=self.clock.now(), seed=self._seed())
        log.info("daily facts: %s %s subscribed at %s %s", caller.platform, caller.channel, at.strftime("%H:%M"), zone)
        self._changed(caller.platform)
        return sub

    async def unsubscribe(self, caller: Caller) -> bool:
        with _refused_elsewhere():
            stopped = await self.store.unsubscribe(caller.platform, caller.channel, by=caller.user_id, now=self.clock.now(),
                                                   workspace=caller.workspace)
        if stopped:
            log.info("daily facts: %s %s unsubscribed", caller.platform, caller.channel)
            self._changed(caller.platform)
        return stopped

    async def status(self, caller: Caller) -> DailyStatus | None:
        sub = await self.subscription(caller)
        if sub is None or sub.status is Status.STOPPED:
            return None
        last = await self.store.last_delivery(sub.id)
        pauses = await self.store.platform_pauses()
        facts = list(self.facts())
        return DailyStatus(sub, sub.next_due if sub.status is Status.ACTIVE else None, last,
                           left_in_cycle(sub.rotation, facts), pauses.get(sub.platform))

    async def preview(self, caller: Caller) -> str | None:
        """The fact this channel gets next (None: no subscription, or no facts in the pack)."""
        sub = await self.subscription(caller)
        if sub is None or sub.status is Status.STOPPED:
            return None
        return upcoming(sub.rotation, self.facts())

    async def resume(self, caller: Caller) -> Resumed:
        """Lift this channel's pause and its platform's, whichever there is."""
        with _refused_elsewhere():
            other = await self.store.get(caller.platform, caller.channel)
            if other is not None and other.workspace != caller.workspace and other.status is not Status.STOPPED:
                raise OtherWorkspace(caller.platform, caller.channel)
        platform_resumed = await self.store.clear_platform_pause(caller.platform)
        sub = await self.subscription(caller)
        channel_resumed = False
        if sub is not None and sub.status is Status.PAUSED:
            with _refused_elsewhere():
                sub = await self.store.resume(caller.platform, caller.channel, by=caller.user_id, now=self.clock.now(),
                                              catch_up=self.catch_up, workspace=caller.workspace)
            channel_resumed = sub is not None
        if platform_resumed or channel_resumed:
            log.info("daily facts: %s %s resumed (channel: %s, platform: %s)", caller.platform, caller.channel,
                     channel_resumed, platform_resumed)
            self._changed(caller.platform)
        return Resumed(sub, channel_resumed, platform_resumed)


OTHER_WORKSPACE = ("This channel's daily facts were set up from another workspace sharing it, so only that workspace "
                   "can change them. Ask someone there, or subscribe one of your own workspace's channels.")


@contextlib.contextmanager
def _refused_elsewhere() -> Iterator[None]:
    """A change from a workspace that does not own the channel's subscription: a clear refusal."""
    try:
        yield
    except OtherWorkspace:
        log.info("daily facts: a change from another workspace was refused")
        raise UserError(OTHER_WORKSPACE, (), "Another workspace's daily facts") from None


def fact_composer(engine: Callable[[], Engine]) -> Compose:
    """The scheduler's way to build a post: the `fact` command through the one entry point,
    public, as the scheduler. `engine` is called each time, so a reloaded pack is used at once."""

    async def compose(sub: Subscription, fact_id: str) -> object:
        current = engine()
        if fact_id not in current.catalog.facts:
            return None
        caller = Caller(platform=sub.platform, workspace=sub.workspace, channel=sub.channel, user_id="",
                        display_name="daily facts")
        reply = await current.handle(Request.options("fact", {"which": fact_id}, caller, public=True, origin=Origin.SCHEDULE))
        return None if reply.is_error else reply

    return compose  # type: ignore[return-value]


class DailyFacts:
    """The feature for one process: open the store (migrating it), run the scheduler for the
    platforms this process posts to, serve the commands; `close()` drains and disconnects."""

    def __init__(self, store: Store, service: DailyService, scheduler: Scheduler):
        self.store = store
        self.service = service
        self.scheduler = scheduler

    @classmethod
    async def open(
        cls,
        engine: Callable[[], Engine],
        posters: Mapping[str, Poster],
        *,
        url: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        settings: SchedulerSettings | None = None,
        observer: Observer | None = None,
        connect: bool = True,
        timeouts: tuple[float, float] | None = None,
    ) -> DailyFacts:
        """`connect=False` builds everything without reaching the database (no migration yet):
        the caller runs `store.upgrade()` when the database can be reached."""
        settings = settings or SchedulerSettings.from_env()
        store = await Store.open(url, timeouts=timeouts) if connect else Store.connect(url, timeouts)
        counter = getattr(observer, "store_error", None)
        if callable(counter):
            store.health.on_error = counter

        def facts() -> Iterable[str]:
            return engine().catalog.facts.keys()

        scheduler = Scheduler(store, posters, fact_composer(engine), facts, clock=clock, settings=settings,
                              observer=observer)
        service = DailyService(store, facts, clock=clock, catch_up=settings.catch_up, scheduler=scheduler)
        return cls(store, service, scheduler)

    async def start(self) -> None:
        await self.scheduler.start()

    @property
    def ready(self) -> bool:
        return self.scheduler.ready

    @property
    def problem(self) -> str | None:
        """Why daily facts are not ready (None when they are): for a readiness probe."""
        return self.scheduler.problem

    async def drain(self) -> None:
        """No new claims; posts in flight go on (SIGTERM's first step)."""
        await self.scheduler.drain()

    async def close(self, timeout: float = 30.0) -> None:
        """Drain the scheduler (sends in flight finish, up to `timeout` s), then disconnect."""
        try:
            await self.scheduler.stop(timeout)
        finally:
            await self.store.close()
