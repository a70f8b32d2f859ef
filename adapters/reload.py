"""Content reload: a new pack replaces the served one only when it validates.

Watching is by polling file stats (`CYTOBOT_CONTENT_POLL_SECONDS`, default 2 s), not by
inotify: a pack is a few dozen files, so one sweep costs microseconds, and polling sees edits
the same way on every filesystem a deployment may mount the pack from (bind mounts from macOS
or Windows hosts, NFS, Kubernetes ConfigMaps that swap a symlink), where file events are
missing or arrive for paths the pack does not contain. An edit is loaded once the files have
stayed unchanged for one interval, so a half-saved file is not read. SIGHUP reloads at once.

The pack is read, validated and indexed (search index included) in a worker thread, so the
event loop keeps answering; the engines then switch to it in one assignment each. A broken
edit logs every problem and changes nothing: the bot keeps serving the pack it had. Reloads
never overlap: a trigger during a reload runs one more reload after it.

A content directory that is a symlink is followed as configured at every look and every
reload, never resolved once at start: `ln -sfn packs/v2 current` (the usual atomic deploy of
a new pack) is seen as a change and loaded, and SIGHUP reads the link's target of the moment.
Each reload reads one target throughout (the link is resolved once per reload) and logs it.
The watcher's baseline is the fingerprint taken just before the served pack was read
(`load_for_serving`), so an edit made while it loaded, or between loading and the watcher's
start, is loaded at the next look.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from adapters.observe import Metrics
from adapters.run import Component
from bot.catalog import Catalog
from bot.engine import Engine
from bot.cache import load_catalog, save_catalog
from bot.loader import PackError

log = logging.getLogger("cytobot.content")

Fingerprint = tuple[tuple[str, int, int, int], ...]
GIL_SLICE = 0.0001  # seconds; see loading_beside_the_loop


def build_catalog(directory: Path, cache_dir: Path | None | str = "env", previous: Catalog | None = None) -> Catalog:
    """Load, validate and index a pack: everything a first request would otherwise pay for.
    Through the pack cache (`bot.cache`: the default reads CYTOBOT_CACHE_DIR, None switches it
    off), so an unchanged large pack starts in a fraction of its load time; with `previous`
    (the catalog being served), incrementally: only the changed files are read again.
    Raises PackError. Runs in a worker thread during reloads."""
    catalog = load_catalog(directory, cache_dir=cache_dir, previous=previous)  # with its search index built
    catalog.examples  # noqa: B018 - built now, not on the first request after the swap
    return catalog


def load_for_serving(directory: Path, cache_dir: Path | None | str = "env") -> tuple[Catalog, Fingerprint, Path]:
    """The pack to serve at start, the fingerprint of what was read (the watcher's baseline:
    taken before reading, so an edit during the load is a change) and the directory read."""
    real = directory.resolve()
    seen = fingerprint(directory)
    return build_catalog(real, cache_dir), seen, real


def fingerprint(directory: Path) -> Fingerprint:
    """The directory the path leads to now, then name, size, modification time and inode of
    every YAML file (the files the loader reads), following symlinks: any save, copy or
    symlink swap changes it."""
    try:
        if not directory.is_dir():
            return ()
        entries = [(str(directory.resolve()), -1, -1, -1)]
    except OSError:
        return ()
    try:
        for path in directory.rglob("*"):
            if path.suffix in (".yaml", ".yml"):
                try:
                    st = path.stat()
                except OSError:
                    continue
                entries.append((str(path.relative_to(directory)), st.st_size, st.st_mtime_ns, st.st_ino))
    except OSError:
        return ()
    return tuple(sorted(entries))


@contextlib.contextmanager
def loading_beside_the_loop() -> Iterator[None]:
    """While a pack loads in its thread, keep the event loop responsive.

    Loading is pure Python, so the thread holds the GIL for a whole switch interval (5 ms by
    default) at a time, and the event loop, which gives the GIL up at every poll for I/O,
    waits that long to get it back at every turn: acknowledgements queue up behind the load.
    Shorter slices fix that. The cyclic garbage collector is paused too: a big pack allocates
    hundreds of thousands of objects, which would trigger full collections that hold the GIL
    for half a second each. The pack's objects form no cycles; what requests leave meanwhile
    is collected when the load ends."""
    saved, collecting = sys.getswitchinterval(), gc.isenabled()
    sys.setswitchinterval(GIL_SLICE)
    gc.disable()
    try:
        yield
    finally:
        sys.setswitchinterval(saved)
        if collecting:
            gc.enable()


def settle() -> None:
    """After a pack is loaded: move everything alive into the collector's permanent generation,
    so later collections never walk the pack's objects again (short pauses while serving)."""
    gc.collect()
    gc.freeze()


def _where(configured: Path, real: Path) -> str:
    """The directory a reload read, and the link it was reached through if it is one."""
    return str(real) if real == configured else f"{real} (through {configured})"


class ContentReloader(Component):
    name = "content"

    def __init__(self, engines: Sequence[Engine], directory: Path, *, poll_seconds: float, metrics: Metrics | None = None,
                 cache_dir: Path | None | str = "env", baseline: Fingerprint | None = None):
        """`directory` as configured (a symlink stays one); `baseline`: the fingerprint of the
        files the served pack was read from (`load_for_serving`); None takes it at start."""
        self.engines = list(engines)
        self.directory = directory
        self.cache_dir = cache_dir
        self.poll_seconds = poll_seconds
        self.metrics = metrics
        self._baseline = baseline
        self._loaded: Fingerprint = ()
        self._running: asyncio.Task[None] | None = None
        self._again = False
        self.reloads = 0  # finished reload attempts, good or bad (tests wait on it)
        self.problems: tuple[object, ...] = ()  # why the last reload was refused (PackProblems); () once one succeeds

    async def start(self) -> None:
        self._loaded = self._baseline if self._baseline is not None else await asyncio.to_thread(fingerprint, self.directory)
        info = self.engines[0].catalog.info
        if self.metrics is not None:
            self.metrics.content(info.id, info.name, info.version)
        if self.poll_seconds > 0:
            self.task = asyncio.create_task(self._watch(), name="content-watch")

    async def check(self) -> str | None:
        return None  # the runner starts only with a valid pack, and a bad edit never removes it

    async def close(self) -> None:
        if self._running is not None:
            self._running.cancel()
            await asyncio.gather(self._running, return_exceptions=True)

    def request(self, reason: str) -> None:
        """Reload soon (SIGHUP, or files changed); coalesces triggers that arrive meanwhile."""
        if self._running is not None and not self._running.done():
            self._again = True
            return
        self._running = asyncio.get_running_loop().create_task(self._reload_until_settled(reason), name="content-reload")

    async def _reload_until_settled(self, reason: str) -> None:
        while True:
            self._again = False
            await self.reload(reason)
            if not self._again:
                return
            reason = "changed again during the reload"

    async def reload(self, reason: str) -> bool:
        """Load the pack off the loop; swap it in if it validates. True if swapped."""
        try:
            return await self._reload(reason)
        finally:
            self.reloads += 1

    async def _reload(self, reason: str) -> bool:
        started = time.perf_counter()
        seen = await asyncio.to_thread(fingerprint, self.directory)
        old = self.engines[0].catalog.info
        real = self.directory
        try:
            real = await asyncio.to_thread(self.directory.resolve)  # the link's target now, for the whole load
            with loading_beside_the_loop():
                catalog = await asyncio.to_thread(build_catalog, real, self.cache_dir, self.engines[0].catalog)
        except PackError as exc:
            self.problems = tuple(exc.problems)
            log.error("content reload (%s) refused: %d problem(s) in %s; still serving %s v%s",
                      reason, len(exc.problems), _where(self.directory, real), old.name, old.version)
            for problem in exc.problems:
                log.error("  %s", problem)
            if self.metrics is not None:
                self.metrics.content(old.id, old.name, old.version, reloaded=False)
            return False
        except Exception:
            log.exception("content reload (%s) of %s failed; still serving %s v%s", reason, _where(self.directory, real),
                          old.name, old.version)
            if self.metrics is not None:
                self.metrics.content(old.id, old.name, old.version, reloaded=False)
            return False
        finally:
            self._loaded = seen  # a refused edit is not retried until the files change again
        self.problems = ()
        old = [engine.catalog for engine in self.engines]
        for engine in self.engines:
            engine.replace_catalog(catalog)
        await asyncio.to_thread(old.clear)  # the old pack is freed off the loop
        settle()
        info = catalog.info
        if self.metrics is not None:
            self.metrics.content(info.id, info.name, info.version, reloaded=True)
        log.info("content reloaded (%s) from %s: %s v%s, %d topics, in %.2f s", reason, _where(self.directory, real),
                 info.name, info.version, len(catalog.topics), time.perf_counter() - started)
        # The next cold start reads this pack from the cache; written after the swap, off the loop.
        with loading_beside_the_loop():
            await asyncio.to_thread(save_catalog, real, catalog, cache_dir=self.cache_dir)
        return True

    async def _watch(self) -> None:
        """Poll; reload when the files changed and then stayed the same for one interval."""
        pending: Fingerprint | None = None
        while True:
            await asyncio.sleep(self.poll_seconds)
            now = await asyncio.to_thread(fingerprint, self.directory)
            if now == self._loaded:
                pending = None
            elif now == pending:
                pending = None
                self.request("files changed")
            else:
                pending = now  # changed: wait one more interval for the save to finish
