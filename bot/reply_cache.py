"""Replies to repeated lookups, kept, so a busy channel's `/crs compare severity` costs a lookup.

A reply may be reused only if answering again could not give anything else. What a handler
can see is its `Context`; of that, the pack (`catalog`, `cards`), the command prefix and the
registry are fixed while the cache holds, and the rest (`clock`, `rng`, `caller`, `services`)
is what makes answers differ: today's fact, a random fact, who asks, what is stored. So each
answer is computed once with a watched context that notes any read of those, and is kept only
if there was none and the handler did not wait on anything (an awaitable handler talks to
storage or a platform). `fact today`, `fact random` and everything that reads the caller or a
service are therefore always answered afresh; a key found to read them is remembered as such.

The cache belongs to one engine and holds only while that engine's pack is the one it was
filled from: replacing the catalog (a reload: `Engine.replace_catalog`, a new generation)
empties it. It is bounded (LRU).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from contextvars import ContextVar
from dataclasses import fields
from typing import Any

from .commands import Context
from .request import Request

SIZE = 1024
# Context fields whose values can make two answers to the same request differ.
VARYING = frozenset({"clock", "rng", "caller", "services"})
_VARIES = object()  # kept for a key whose answer read one of VARYING


class Trace:
    """Whether the request being answered stayed a pure function of the pack and its words."""

    __slots__ = ("pure",)

    def __init__(self) -> None:
        self.pure = True


TRACE: ContextVar[Trace | None] = ContextVar("cytobot_reply_trace", default=None)


class WatchedContext(Context):
    """A `Context` that notes, in the current trace, any read of a field in VARYING."""

    def __getattribute__(self, name: str) -> Any:
        if name in VARYING:
            trace = TRACE.get()
            if trace is not None:
                trace.pure = False
        return object.__getattribute__(self, name)


def watched(ctx: Context) -> Context:
    """`ctx` watched when a trace is open (the answer may be kept), else `ctx` itself."""
    if TRACE.get() is None:
        return ctx
    return WatchedContext(**{f.name: getattr(ctx, f.name) for f in fields(ctx)})


class ReplyCache:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._version: Hashable = None

    def key(self, request: Request, version: Hashable) -> Hashable | None:
        """What the reply depends on besides VARYING; None when it cannot be a key. `version`
        names the pack the answers are read from: when it changes, the cache is emptied."""
        if not self.size:
            return None
        if version != self._version:
            self._entries.clear()
            self._version = version
        if request.command is None:
            line = request.line
            return ("line", line, request.public, request.origin) if isinstance(line, str) else None
        try:
            args = tuple(sorted((str(k), v) for k, v in request.args.items()))
            key = ("options", request.command, args, request.public, request.origin)
            hash(key)
        except TypeError:
            return None
        return key

    def get(self, key: Hashable) -> object | None:
        """What was kept for `key`: an answer, the VARIES mark (answer afresh, untraced), or
        None (not known yet)."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, kept: object | None) -> None:
        """Keep an answer, or with None remember that this key's answers vary."""
        self._entries[key] = kept if kept is not None else _VARIES
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    @staticmethod
    def varies(found: object) -> bool:
        return found is _VARIES
