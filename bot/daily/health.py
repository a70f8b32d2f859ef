"""Whether the daily-facts database answers, as every store operation finds out.

The store reports each operation's outcome here. An outage is one warning line when it begins
and one line when it ends (with how long it lasted), however many posts, commands and probes
fail in between; the errors are counted by operation for /metrics; and readiness reads the
state (`problem`). Reasons name the kind of failure only (a timeout, a refused connection):
never a statement or its parameters, which hold channel and user ids.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable

log = logging.getLogger("cytobot.daily")


def failure_reason(exc: BaseException, statement_timeout: float | None = None) -> str:
    """A short, id-free reason: 'no answer within 5 s', 'ConnectionRefusedError', ..."""
    orig = getattr(exc, "orig", None) or exc.__cause__ or exc
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or isinstance(orig, (TimeoutError, asyncio.TimeoutError)):
        return f"no answer within {statement_timeout:g} s" if statement_timeout else "no answer in time"
    return type(orig).__name__


class StoreHealth:
    def __init__(self, where: str = "", statement_timeout: float | None = None) -> None:
        self.where = where
        self.statement_timeout = statement_timeout
        self.ok: bool | None = None  # None: not asked yet
        self.reason: str | None = None
        self.errors: Counter[str] = Counter()
        self.outages = 0
        self._since = 0.0
        self._answered = float("-inf")  # time.monotonic() of the last success
        self.on_error: Callable[[str], None] | None = None  # metrics: called with the operation's name

    def failed(self, operation: str, exc: BaseException, started: float | None = None) -> None:
        """`operation` failed; `started` is when it began (time.monotonic()). A failure of an
        operation that began before the database last answered is counted but changes nothing:
        it is the tail of an outage already over (a connection that hung), not a new one."""
        self.errors[operation] += 1
        if self.on_error is not None:
            try:
                self.on_error(operation)
            except Exception:  # an observer never breaks the store
                log.exception("daily facts: the observer failed")
        reason = failure_reason(exc, self.statement_timeout)
        if started is not None and started < self._answered:
            return
        if self.ok is not False:
            self.ok = False
            self.outages += 1
            self._since = time.monotonic()
            self.reason = reason
            log.warning("daily facts: the database %s cannot be reached (%s, in %s); posts and daily commands wait "
                        "until it answers", self.where, reason, operation)
        else:
            self.reason = reason

    def succeeded(self) -> None:
        if self.ok is False:
            log.warning("daily facts: the database %s answers again, after %.0f s", self.where, time.monotonic() - self._since)
        self.ok = True
        self.reason = None
        self._answered = time.monotonic()

    @property
    def problem(self) -> str | None:
        if self.ok is False:
            return f"daily facts: the database cannot be reached ({self.reason})"
        return None
