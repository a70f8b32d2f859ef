"""`cytobot run`: every configured part of the bot in one process, started and drained in order.

A part is a `Component` (content reloader, Slack, Discord, the daily scheduler): it
starts, says whether it is ready (and if not, why), stops taking new work when asked to
drain, and closes. The runner owns the process: signals, the HTTP server (health, readiness,
metrics, Slack's HTTP endpoint) and the order of shutdown:

    SIGTERM/SIGINT -> /readyz turns 503 "draining" -> each component drains (the scheduler
    claims nothing new, Socket Mode disconnects) -> in-flight answers and posts finish (at
    most CYTOBOT_DRAIN_SECONDS) -> components close -> HTTP server closes -> exit 0.

SIGHUP reloads the content pack. A component whose long-running task dies (a token the
platform rejects) stops the process with a one-line reason and a non-zero exit code.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

import aiohttp

from adapters.inflight import INFLIGHT, Inflight

log = logging.getLogger("cytobot.run")

CHECK_TIMEOUT = 2.0  # seconds one readiness check may take before it counts as not ready
RETRY_FIRST, RETRY_MAX = 1.0, 60.0  # seconds between attempts to reach a platform: doubling, capped
UNREACHABLE = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class Fatal(Exception):
    """A component cannot go on; `message` says why in one line, `code` is the exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.message = message
        self.code = code


class Component:
    """A part of the running bot. Subclasses override what they need."""

    name = "component"
    task: asyncio.Task[None] | None = None  # long-running work; if it ends, the process stops
    problem: str | None = None  # the latest reason it is not ready, for `check`

    def report(self, problem: str) -> None:
        self.problem = problem

    async def start(self) -> None:
        """Begin. Return soon: connecting goes into `self.task`."""

    async def check(self) -> str | None:
        """None when ready, else why not (one short line, no secrets)."""
        return None

    async def drain(self) -> None:
        """Stop taking new work (keep finishing what was started)."""

    async def close(self) -> None:
        """Release connections; called after draining, also after a failed start."""

    def failure(self, exc: BaseException) -> Fatal:
        """How this component's task failing is reported; components map their platform's errors."""
        return Fatal(f"{self.name} stopped: {type(exc).__name__}: {exc}")


async def until_reachable(step: Callable[[], Awaitable[None]], platform: str, report: Callable[[str], None],
                          logger: logging.Logger = log) -> None:
    """Run `step` until it gets through. A network failure is one warning line, a pause that
    doubles up to a minute, and a readiness reason passed to `report`; anything else (a
    rejected token) propagates and stops the process."""
    pause = RETRY_FIRST
    while True:
        try:
            await step()
            return
        except UNREACHABLE as exc:
            report(f"cannot reach {platform} ({type(exc).__name__}); retrying")
            first_line = (str(exc) or type(exc).__name__).splitlines()[0][:200]
            logger.warning("cannot reach %s (%s); retrying in %.0f s", platform, first_line, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX)


class Readiness:
    """What /readyz answers: every component's check, or "draining" once shutdown began."""

    def __init__(self, components: Sequence[Component]):
        self.components = list(components)
        self.draining = False

    async def reasons(self) -> list[str]:
        if self.draining:
            return ["draining: shutting down"]

        async def one(component: Component) -> str | None:
            try:
                return await asyncio.wait_for(component.check(), CHECK_TIMEOUT)
            except TimeoutError:
                return f"{component.name}: readiness check timed out"
            except Exception as exc:  # a broken check is a reason, not a crash
                return f"{component.name}: readiness check failed ({type(exc).__name__})"

        results = await asyncio.gather(*(one(c) for c in self.components))
        return [r for r in results if r]


class Runner:
    """Starts `components` (in order) and an optional HTTP server; drains on a signal."""

    def __init__(self, components: Sequence[Component], *, drain_seconds: float, inflight: Inflight = INFLIGHT,
                 on_reload: Callable[[], None] | None = None, prog: str = "cytobot run"):
        self.prog = prog
        self.components = list(components)
        self.readiness = Readiness(self.components)
        self.drain_seconds = drain_seconds
        self.inflight = inflight
        self.on_reload = on_reload
        self._stop = asyncio.Event()
        self.http: Component | None = None  # started first, closed last

    def stop(self) -> None:
        """Begin the drain (what SIGTERM does)."""
        self._stop.set()

    def _signals(self, install: bool) -> None:
        loop = asyncio.get_running_loop()
        wanted = {signal.SIGTERM: self.stop, signal.SIGINT: self.stop}
        if self.on_reload is not None:
            wanted[signal.SIGHUP] = self.on_reload
        for sig, handler in wanted.items():
            try:
                if install:
                    loop.add_signal_handler(sig, handler)
                else:
                    loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
                pass

    async def run(self) -> int:
        """Serve until a signal or a component failure; returns the exit code."""
        self._signals(True)
        started: list[Component] = []
        code = 0
        try:
            for component in ([self.http] if self.http else []) + self.components:
                started.append(component)
                log.debug("starting %s", component.name)
                await component.start()
            tasks = {c.task: c for c in self.components if c.task is not None}
            stop = asyncio.ensure_future(self._stop.wait())
            done, _ = await asyncio.wait({stop, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            for task in done:
                if task in tasks:
                    code = self._report(tasks[task], task)
            if code == 0:
                log.info("shutting down: draining (at most %.0f s)", self.drain_seconds)
        except Fatal as exc:
            print(f"{self.prog}: {exc.message}", flush=True, file=sys.stderr)
            code = exc.code
        finally:
            await self._shutdown(started, graceful=code == 0)
            self._signals(False)
        if code == 0:
            log.info("stopped")
        return code

    def _report(self, component: Component, task: asyncio.Task[None]) -> int:
        exc = task.exception() if not task.cancelled() else None
        fatal = component.failure(exc) if exc is not None else Fatal(f"{component.name} stopped unexpectedly")
        print(f"{self.prog}: {fatal.message}", flush=True, file=sys.stderr)
        return fatal.code

    async def _shutdown(self, started: list[Component], *, graceful: bool) -> None:
        self.readiness.draining = True
        components = [c for c in started if c is not self.http]
        if graceful:
            for component in reversed(components):
                log.debug("draining %s", component.name)
                await _quietly(component.drain(), component.name, "drain")
            if not await self.inflight.idle(self.drain_seconds):
                log.warning("drain time is up with %d answer(s) still in flight", self.inflight.count)
        for component in reversed(components):
            log.debug("closing %s", component.name)
            await _quietly(component.close(), component.name, "close")
            if component.task is not None and not component.task.done():
                component.task.cancel()
                await asyncio.gather(component.task, return_exceptions=True)
        if self.http is not None and self.http in started:
            await _quietly(self.http.close(), "http", "close")


async def _quietly(step: object, name: str, what: str) -> None:
    try:
        await step  # type: ignore[misc]
    except Exception:
        log.exception("%s: %s failed", name, what)

