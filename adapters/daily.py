"""Wiring daily facts into a process: the store, the scheduler, and an engine whose `daily`
commands reach them.

`open_daily(engine, posters)` builds the store, the scheduler (for a mapping platform ->
Poster) and the service, and tries the database once (migrating it, or refusing one a newer
cytobot migrated); one it cannot reach is retried by `cytobot run`'s component (the process
serves, and /readyz says why it is not ready). `connect=True` requires the database at once. `cytobot run`,
`slack` and `discord` (`adapters.launch`) run it as a component beside the platforms
(`adapters.daily_component`); `cytobot console` uses `running_daily`, which also starts it and
drains it on the way out.

`LazyDaily` is for one-off calls (`cytobot ask`): the database is opened only if the line is a
`daily` command, so lookups never pay for it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.commands.base import UserError
from bot.daily.clock import SYSTEM_CLOCK, Clock
from bot.engine import Engine

if TYPE_CHECKING:  # SQLAlchemy and Alembic are imported only when the database is opened
    from bot.daily.delivery import Poster
    from bot.daily.scheduler import SchedulerSettings
    from bot.daily.service import DailyFacts, DailyService
    from bot.daily.store import Store
    from bot.observe import Observer

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


async def open_daily(engine: Callable[[], Engine], posters: Mapping[str, Poster], *, url: str | None = None,
                     catch_up: timedelta | None = None, clock: Clock = SYSTEM_CLOCK,
                     settings: SchedulerSettings | None = None, observer: Observer | None = None,
                     connect: bool = False, timeouts: tuple[float, float] | None = None) -> DailyFacts:
    """Build the store, scheduler and service; not started yet. Without `connect` the database is
    tried once (migrated if it answers) and, if it cannot be reached, left to the component to
    retry. `engine` gives the engine whose `fact` command renders posts (called each time:
    reloads count). Raises DailyUnavailable with a one-line reason (a bad URL or setting, a
    database a newer cytobot migrated; with `connect`, also a database that cannot be opened)."""
    from bot.daily.migrate import DatabaseTooNew
    from bot.daily.scheduler import SchedulerSettings
    from bot.daily.service import DailyFacts

    try:
        if settings is None:
            settings = SchedulerSettings.from_env(**({"catch_up": catch_up} if catch_up is not None else {}))
        daily = await DailyFacts.open(engine, posters, url=url, clock=clock, settings=settings, observer=observer,
                                      connect=connect, timeouts=timeouts)
    except database_errors() as exc:
        raise DailyUnavailable(explain(exc, url)) from exc
    if not connect:
        # One try now, so a reachable database is migrated before the platforms start; one that
        # cannot be reached is the component's to retry (the store has logged why).
        try:
            await daily.store.upgrade()
        except DatabaseTooNew as exc:
            await daily.store.close()
            raise DailyUnavailable(explain(exc, url)) from exc
        except Exception:
            pass
    return daily


@contextlib.asynccontextmanager
async def running_daily(
    engine: Engine,
    posters: Mapping[str, Poster],
    *,
    url: str | None = None,
    catch_up: timedelta | None = None,
    clock: Clock = SYSTEM_CLOCK,
    settings: SchedulerSettings | None = None,
    drain_timeout: float = 30.0,
) -> AsyncIterator[tuple[Engine, DailyFacts]]:
    """Open daily facts for this process and run the scheduler for `posters` (platform ->
    Poster; more can be attached later): what `cytobot console` uses. Yields the engine to
    serve and the runtime; on the way out the scheduler drains. Raises DailyUnavailable."""
    current: list[Engine] = []
    daily = await open_daily(lambda: current[0], posters, url=url, catch_up=catch_up, clock=clock, settings=settings,
                             connect=True)
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


class LazyDaily:
    """The daily service for a one-off call: the database is opened on the first daily command.
    Exposes the DailyService methods the commands use; store problems become a clear reply."""

    _METHODS = frozenset({"subscription", "subscribe", "unsubscribe", "status", "preview", "resume"})

    def __init__(self, engine: Engine, url: str | None = None, clock: Clock = SYSTEM_CLOCK,
                 catch_up: timedelta | None = None):
        self._engine = engine
        self._url = url
        self._clock = clock
        self._catch_up = catch_up
        self._store: Store | None = None
        self._service: DailyService | None = None
        self.scheduler = None

    async def _open(self) -> DailyService:
        if self._service is None:
            from bot.daily.scheduler import SchedulerSettings
            from bot.daily.service import DailyService
            from bot.daily.store import Store

            try:
                settings = SchedulerSettings.from_env(**({"catch_up": self._catch_up} if self._catch_up else {}))
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
