"""Chat events already taken on, recorded in the bot's database: one answer per event, however
many replicas receive it.

A platform may deliver one event more than once (Slack retries an event it thinks was not
acknowledged), and behind a load balancer the second delivery can reach another replica. Every
replica therefore records an event's key before answering it, as one row whose key is unique:
`first_time` is a single `INSERT … ON CONFLICT DO NOTHING` (SQLite and PostgreSQL both have
it), so of two replicas racing on one key the database lets exactly one insert in and only that
one answers; there is no read-then-write window. `forget` deletes the row when nothing reached
the user, so the platform's next retry gets its chance.

Rows are needed only while a retry may still come (Slack's come within minutes); at most every
`prune_every` seconds, one call also deletes the rows older than `ttl` (an hour), a range
delete on an index: the table holds about an hour of events, and most events pay for one insert.

When the database cannot be used (unreachable, failing, or slower than `timeout` seconds),
`first_time` says yes and the event is answered, with one warning line. The trade-off is
deliberate: the worst a failure can then cause is a second answer to a retried event (it needs
an outage and a retry together, and a reader sees and ignores a duplicate), while saying no
would drop a question nobody else will answer, without the asker ever learning why. A statement
past the timeout is not cancelled but left to finish: if it goes in late, its record still counts.

This implements the `SeenEvents` protocol of the chat adapters; the core knows no platform.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Executable, bindparam, delete
from sqlalchemy.ext.asyncio import AsyncEngine

from .clock import SYSTEM_CLOCK, Clock
from .database import dialect_insert
from .tables import SEEN_KEY_LENGTH, seen_events

log = logging.getLogger("cytobot.seen")
T = TypeVar("T")

SEEN_SECONDS = 3600.0  # how long an event is remembered: far beyond Slack's retries (minutes)
PRUNE_SECONDS = 300.0  # at most one prune per replica this often
TIMEOUT_SECONDS = 5.0  # a database slower than this is treated as unreachable: the event is answered


def stored_key(key: str) -> str:
    """`key` as stored: itself, or its hash when longer than the column."""
    if len(key) <= SEEN_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _reason(exc: BaseException) -> str:
    """The driver's one-line reason (never the statement's parameters, which follow on later lines)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0][:200] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class DatabaseSeen:
    """`SeenEvents` in the `seen_events` table of `engine`'s database (migrated by `Store.open`).
    Replicas sharing one database share the record."""

    def __init__(self, engine: AsyncEngine, *, ttl: float = SEEN_SECONDS, prune_every: float = PRUNE_SECONDS,
                 timeout: float = TIMEOUT_SECONDS, clock: Clock = SYSTEM_CLOCK):
        self.engine = engine
        self.ttl = timedelta(seconds=ttl)
        self.prune_every = prune_every
        self.timeout = timeout
        self.clock = clock
        self._next_prune: float | None = None  # monotonic; None: prune at the first call
        self._late: set[asyncio.Task[Any]] = set()  # statements past the timeout, still running
        self._claim = dialect_insert(engine.dialect.name, seen_events).on_conflict_do_nothing(
            index_elements=["key"]).returning(seen_events.c.key)
        self._forget = delete(seen_events).where(seen_events.c.key == bindparam("b_key"))
        self._prune = delete(seen_events).where(seen_events.c.seen_at < bindparam("b_before"))

    async def first_time(self, key: str) -> bool:
        """True for the first caller with `key` in any replica; True as well when the database
        cannot say (see the module docstring)."""
        try:
            won = await self._bounded(self._run(self._claim, {"key": stored_key(key), "seen_at": self.clock.now()}))
        except Exception as exc:  # whatever the driver raises (asyncpg's connect errors come unwrapped)
            log.warning("seen events: database unusable (%s); answering without checking for an earlier delivery",
                        _reason(exc))
            return True
        await self._prune_if_due()
        return won.first() is not None

    async def forget(self, key: str) -> None:
        try:
            await self._bounded(self._run(self._forget, {"b_key": stored_key(key)}))
        except Exception as exc:
            log.warning("seen events: could not forget an event (%s); a retry of it will not be answered",
                        _reason(exc))

    async def _prune_if_due(self) -> None:
        now = self.clock.monotonic()
        if self._next_prune is not None and now < self._next_prune:
            return
        self._next_prune = now + self.prune_every  # set first: concurrent calls prune once
        try:
            result = await self._bounded(self._run(self._prune, {"b_before": self.clock.now() - self.ttl}))
            if result.rowcount:
                log.debug("seen events: pruned %d older than %s", result.rowcount, self.ttl)
        except Exception as exc:  # the next prune tries again; the table only grows meanwhile
            log.warning("seen events: pruning failed (%s)", _reason(exc))

    async def _run(self, statement: Executable, parameters: dict[str, Any]) -> CursorResult[Any]:
        """One statement in its own transaction; the result is buffered, so it outlives the connection."""
        async with self.engine.begin() as conn:
            return await conn.execute(statement, parameters)

    async def _bounded(self, operation: Coroutine[Any, Any, T]) -> T:
        """`operation`'s result, or TimeoutError after `timeout` seconds. The operation itself is not
        cancelled but left to finish unwatched: cancelling a driver mid-statement waits for its
        cleanup (aiosqlite's for SQLite's 30-second busy timeout), and a late insert still counts."""
        task = asyncio.ensure_future(operation)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.timeout)
        except TimeoutError:
            self._late.add(task)
            task.add_done_callback(self._late_done)
            raise

    def _late_done(self, task: asyncio.Task[Any]) -> None:
        self._late.discard(task)
        if not task.cancelled() and task.exception() is not None:  # already said: it timed out
            log.debug("seen events: a late statement failed too (%s)", _reason(task.exception()))  # type: ignore[arg-type]
