"""Wiring daily facts into a process: the store, the scheduler, and an engine whose `daily`
commands reach them.

`running_daily(engine, posters)` is the one composition function every long-running command
uses (`cytobot console`, `slack`, `discord`, `run`): it opens the database (migrating it, or
refusing one a newer cytobot migrated), starts the scheduler for the given posters, yields the
engine to serve, and drains the scheduler on the way out. Adapters whose poster needs a
connected client (Slack, Discord) add it later with `attach_poster`.

`LazyDaily` is for one-off calls (`cytobot ask`): the database is opened only if the line is a
`daily` command, so lookups never pay for it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot.commands.base import UserError
from bot.daily.clock import SYSTEM_CLOCK, Clock
from bot.engine import Engine

if TYPE_CHECKING:  # SQLAlchemy and Alembic are imported only when the database is opened
    from bot.daily.delivery import Poster
    from bot.daily.scheduler import SchedulerSettings
    from bot.daily.service import DailyFacts, DailyService
    from bot.daily.store import Store

log = logging.getLogger("cytobot.daily")


def database_errors() -> tuple[type[BaseException], ...]:
    """What opening the database can fail with, said in one line by `explain`."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.daily.database import DatabaseUrlError
    from bot.daily.migrate import DatabaseTooNew
    from bot.daily.scheduler import SettingsError

    return (DatabaseTooNew, DatabaseUrlError, SettingsError, SQLAlchemyError, OSError)


class DailyUnavailable(RuntimeError):
    """The daily-facts database cannot be used; the message says which and why."""


def explain(exc: BaseException, url: str | None = None) -> str:
    """One line for an operator: what failed and what to do."""
    from bot.daily.database import DatabaseUrlError, database_url, describe
    from bot.daily.migrate import DatabaseTooNew
    from bot.daily.scheduler import SettingsError

    where = describe(url or database_url())
    if isinstance(exc, (DatabaseTooNew, DatabaseUrlError, SettingsError)):
        return str(exc)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return f"cannot open the daily-facts database {where}: {reason} (check CYTOBOT_DATABASE_URL)"


def with_service(engine: Engine, service: object) -> Engine:
    """The same pack and prefix, with `service` as the `daily` commands' service."""
    return Engine(engine.catalog, prefix=engine.prefix, registry=engine.registry,
                  services={**engine.services, "daily": service})


@contextlib.asynccontextmanager
async def running_daily(
    engine: Engine,
    posters: Mapping[str, Poster],
    *,
    url: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
    settings: SchedulerSettings | None = None,
    drain_timeout: float = 30.0,
) -> AsyncIterator[tuple[Engine, DailyFacts]]:
    """Open daily facts for this process and run the scheduler for `posters` (platform ->
    Poster; more can be attached later). Yields the engine to serve and the runtime, whose
    `ready` is the scheduler's readiness and `close()` its drain. Raises DailyUnavailable."""
    from bot.daily.service import DailyFacts

    current: list[Engine] = []
    try:
        daily = await DailyFacts.open(lambda: current[0], posters, url=url, clock=clock, settings=settings)
    except database_errors() as exc:
        raise DailyUnavailable(explain(exc, url)) from exc
    wired = with_service(engine, daily.service)
    current.append(wired)
    try:
        try:
            await daily.start()
        except database_errors() as exc:
            raise DailyUnavailable(explain(exc, url)) from exc
        yield wired, daily
    finally:
        await daily.close(drain_timeout)


async def serve_with_daily(engine: Engine, serve: Callable[[Engine], Awaitable[None]]) -> None:
    """Run `serve` (one platform's adapter) with daily facts open for it: `cytobot slack`,
    `cytobot discord`. Raises DailyUnavailable when the database cannot be used."""
    async with running_daily(engine, {}) as (wired, _daily):
        await serve(wired)


def runs_scheduler(engine: Engine) -> bool:
    """Whether `engine`'s daily facts have a scheduler in this process (not a one-off call)."""
    return getattr(engine.services.get("daily"), "scheduler", None) is not None


async def attach_poster(engine: Engine, platform: str, poster: Poster) -> bool:
    """Let the scheduler of `engine`'s daily facts post to `platform` through `poster`; False
    when this engine has no scheduler (e.g. a one-off call)."""
    if not runs_scheduler(engine):
        return False
    await engine.services["daily"].scheduler.attach(platform, poster)  # type: ignore[attr-defined]
    return True


class LazyDaily:
    """The daily service for a one-off call: the database is opened on the first daily command.
    Exposes the DailyService methods the commands use; store problems become a clear reply."""

    _METHODS = frozenset({"subscription", "subscribe", "unsubscribe", "status", "preview", "resume"})

    def __init__(self, engine: Engine, url: str | None = None, clock: Clock = SYSTEM_CLOCK):
        self._engine = engine
        self._url = url
        self._clock = clock
        self._store: Store | None = None
        self._service: DailyService | None = None
        self.scheduler = None

    async def _open(self) -> DailyService:
        if self._service is None:
            from bot.daily.scheduler import SchedulerSettings
            from bot.daily.service import DailyService
            from bot.daily.store import Store

            try:
                settings = SchedulerSettings.from_env()
                self._store = await Store.open(self._url)
            except database_errors() as exc:
                raise UserError(f"Daily facts need their database, which could not be opened: {explain(exc, self._url)}",
                                title="Daily facts not available") from exc
            self._service = DailyService(self._store, lambda: self._engine.catalog.facts.keys(), clock=self._clock,
                                         catch_up=settings.catch_up)
        return self._service

    def __getattr__(self, name: str) -> Any:
        if name not in self._METHODS:
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await getattr(await self._open(), name)(*args, **kwargs)

        return call

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
