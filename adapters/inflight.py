"""Work in progress that a shutdown must let finish: answers being sent, posts being made.

Slack acknowledges a command at once and sends the answer afterwards from a task bolt does not
keep; Discord answers through REST after the gateway event. On SIGTERM the runner waits until
nothing is tracked here (bounded by `CYTOBOT_DRAIN_SECONDS`) before closing connections, so a
user who asked just before a deploy still gets the answer. Process-wide by nature, like signals.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Inflight:
    def __init__(self) -> None:
        self.count = 0

    @contextmanager
    def track(self) -> Iterator[None]:
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1

    def tracked(self, fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        """Decorator: the coroutine function's every run counts as in flight. Keeps the
        signature visible (`functools.wraps`), which bolt reads to inject arguments."""

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            with self.track():
                return await fn(*args, **kwargs)

        return wrapper

    async def idle(self, timeout: float, step: float = 0.02) -> bool:
        """Wait until nothing is in flight; False if `timeout` seconds passed first."""
        deadline = time.monotonic() + timeout
        while self.count > 0:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(step)
        return True


INFLIGHT = Inflight()
