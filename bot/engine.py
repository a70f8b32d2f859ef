"""The engine: one entry point for every adapter. A Request in, a Reply out.

`Engine.handle(request)` serves slash commands, typed options, mentions, DMs, buttons and
scheduled posts alike; `execute` and `invoke` are the same path for synchronous callers.
It never raises on user input. Problems the user can fix become a private error card that
says what to type; anything unexpected is logged and answered with a polite apology.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import random
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .cards import CardMaker
from .catalog import Catalog
from .commands import REGISTRY, Args, CommandSpec, Context, ParamKind, ParamSpec, UserError, command_names, context_args
from .cache import load_catalog
from .loader import content_dir_from_env
from .normalize import clean_input, normalize, shorten
from .reply import Action, ActionKind, CardKind, Field, Reply, Visibility
from .reply_cache import SIZE, TRACE, ReplyCache, Trace, watched
from .request import CONSOLE, Caller, Request

__all__ = ["Caller", "Choice", "CommandSpec", "Engine", "ParamKind", "ParamSpec", "Request", "command_names"]

log = logging.getLogger(__name__)

MAX_INPUT = 500  # characters of a command line, after cleaning
MAX_FALLBACK_WORDS = 12
CHOICE_TEXT = 100  # Discord's autocomplete limit; harmless elsewhere
PUBLIC_WORD = "public"
SHARE_LABEL = "Share in channel"


@dataclass(frozen=True, slots=True)
class Choice:
    """An autocomplete choice: what to show, and what to fill in."""

    label: str
    value: str


class Engine:
    def __init__(
        self,
        catalog: Catalog,
        *,
        prefix: str = "/crs",
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
        registry: tuple[CommandSpec, ...] = REGISTRY,
        services: Mapping[str, object] | None = None,
        cache_replies: bool = True,
    ):
        """`cache_replies=False` answers every request afresh (benchmarks of the uncached path)."""
        self.catalog = catalog
        self.prefix = prefix
        self.registry = registry
        self._names = command_names(registry)
        self._replies = ReplyCache(size=SIZE if cache_replies else 0)
        self._ctx = Context(
            catalog=catalog,
            cards=CardMaker(catalog),
            prefix=prefix,
            clock=clock or (lambda: datetime.now(timezone.utc)),
            rng=rng or random.Random(),
            registry=registry,
            services=dict(services or {}),
        )

    # ------------------------------------------------------------------ construction

    @classmethod
    def load(cls, directory: str | Path, **kwargs) -> Engine:
        """Load the pack in `directory` (through the pack cache, `bot.cache`); raises
        bot.loader.PackError if it is broken."""
        return cls(load_catalog(directory), **kwargs)

    @classmethod
    def from_env(cls, **kwargs) -> Engine:
        return cls.load(content_dir_from_env(), **kwargs)

    @property
    def commands(self) -> tuple[CommandSpec, ...]:
        return self.registry

    # ------------------------------------------------------------------ answering

    async def handle(self, request: Request) -> Reply:
        """Answer one request: a line as typed in chat, or a command with typed options.
        A repeated request whose answer depends only on the pack is answered from
        `bot.reply_cache` (never `fact today`, a random fact, or anything that reads the caller
        or a service)."""
        key = self._replies.key(request, self.catalog, self._ctx.catalog)
        found = self._replies.get(key) if key is not None else None
        if isinstance(found, Reply):
            return found
        trace = Trace() if key is not None and not self._replies.varies(found) else None
        token = TRACE.set(trace)
        try:
            if request.command is not None:
                reply = await self._invoke(request)
            else:
                reply = await self._execute(request)
        except Exception:  # never let user input crash an adapter
            what = request.command if request.command is not None else "a typed line"
            log.exception("unexpected error answering %s on %s", what, request.caller.platform)
            return self._internal_error()
        finally:
            TRACE.reset(token)
        if trace is not None:
            self._replies.put(key, reply if trace.pure else None)
        return reply

    def execute(self, line: str, *, public: bool = False, caller: Caller = CONSOLE) -> Reply:
        """`handle` for synchronous callers (tests, benchmarks, `cytobot ask` lookups)."""
        return _finish(self.handle(Request.text(line, caller, public=public)), self._needs_loop)

    def invoke(self, name: str, args: Mapping[str, object] | None = None, *, public: bool = False,
               caller: Caller = CONSOLE) -> Reply:
        """`handle` with typed options, for synchronous callers: `invoke("compare", {"aspect": "severity"})`."""
        return _finish(self.handle(Request.options(name, args, caller, public=public)), self._needs_loop)

    async def _execute(self, request: Request) -> Reply:
        line, public = request.line, request.public
        text = clean_input(line if isinstance(line, str) else str(line))
        if len(text) > MAX_INPUT:
            return self._error(
                f"That is {len(text):,} characters long; I can look up at most {MAX_INPUT}.",
                (self._ctx.hint("help"),),
                "Too long",
            )
        words = text.split()
        if words and words[0].casefold() == self.prefix.casefold():
            words = words[1:]  # "/crs compare severity" typed into the console
        if len(words) > 1 and words[-1].casefold() == PUBLIC_WORD:
            public, words = True, words[:-1]
        if not words:
            return await self._run(self._names.exact("help"), {}, public, request.caller)
        spec = self._names.exact(words[0])
        rest = " ".join(words[1:])
        if spec is None:
            return await self._fallback(" ".join(words), public, request.caller)
        return await self._run(spec, spec.parse_text(self._ctx, rest), public, request.caller)

    async def _invoke(self, request: Request) -> Reply:
        name = request.command or ""
        spec = self._names.exact(name)
        if spec is None:
            return self._unknown_command(clean_input(str(name)))
        cleaned = {k: clean_input(v) for k, v in context_args(request.args).items()}
        too_long = [k for k, v in cleaned.items() if len(v) > MAX_INPUT]
        if too_long:
            return self._error(f"The {too_long[0]} option is longer than {MAX_INPUT} characters.", (), "Too long")
        return await self._run(spec, cleaned, request.public, request.caller)

    async def _run(self, spec: CommandSpec | None, args: Args, public: bool, caller: Caller) -> Reply:
        assert spec is not None
        ctx = self._ctx if caller is self._ctx.caller else dataclasses.replace(self._ctx, caller=caller)
        try:
            answer = spec.handler(watched(ctx), args)
            if inspect.isawaitable(answer):
                trace = TRACE.get()
                if trace is not None:
                    trace.pure = False  # it waits on storage or a platform: never kept
                answer = await answer
        except UserError as exc:
            return self._error(exc.message, exc.hints, exc.title)
        visibility = Visibility.PUBLIC if public else Visibility.PRIVATE
        actions: tuple[Action, ...] = ()
        if not public and answer.command:
            actions = (Action(ActionKind.SHARE, SHARE_LABEL, answer.command),)
        return Reply(answer.cards, visibility, actions, command=answer.command)

    def _needs_loop(self) -> Reply:
        return self._error(
            "That command needs the bot's storage, which this one-off call cannot reach. Ask the running bot instead.",
            (self._ctx.hint("help"),),
            "Not available here",
        )

    async def _fallback(self, text: str, public: bool, caller: Caller) -> Reply:
        """Not a command: perhaps a topic ("/crs il6") or an aspect ("/crs severity")."""
        words = text.split()
        for cut in range(min(len(words), MAX_FALLBACK_WORDS), 0, -1):  # "crs symptoms": a topic, perhaps a section
            if self.catalog.topic_names.exact(" ".join(words[:cut])) is not None:
                return await self._run(self._names.exact("topic"), {"query": text}, public, caller)
        default = self.catalog.default_comparison
        if default is not None and self.catalog.aspect_names(default).exact(text) is not None:
            return await self._run(self._names.exact("compare"), {"aspect": text}, public, caller)
        return self._unknown_command(words[0])

    def _unknown_command(self, word: str) -> Reply:
        ctx = self._ctx
        match = self._names.lookup(word)
        hints = tuple(ctx.hint(c.item.usage) for c in match.suggestions[:2] if c.score >= 60)
        topics = self.catalog.topic_names.ranked(word, limit=2)
        hints += tuple(ctx.hint(f"topic {c.item.id}") for c in topics if c.score >= 70)
        return self._error(
            f"I don't know the command {ctx.quote(word)}." if normalize(word) else "I couldn't read that command.",
            hints + (ctx.hint("help"),),
            "Unknown command",
        )

    def _error(self, message: str, hints: tuple[str, ...], title: str) -> Reply:
        fields = (Field("Try", "\n".join(dict.fromkeys(hints))),) if hints else ()
        card = self._ctx.cards.card(title, body=message, fields=fields, kind=CardKind.ERROR)
        return Reply((card,), Visibility.PRIVATE, is_error=True)

    def _internal_error(self) -> Reply:
        return self._error(
            "Something went wrong on my side. It has been logged; please try again.",
            (self._ctx.hint("help"),),
            "Sorry, that failed",
        )

    # ------------------------------------------------------------------ autocomplete

    def complete(
        self, kind: ParamKind, prefix: str, *, limit: int = 25, context: Mapping[str, str] | None = None
    ) -> list[Choice]:
        """Choices for a partly typed option, best first, from the same matcher as lookups."""
        try:
            text = clean_input(prefix or "")[:MAX_INPUT]
            kind = ParamKind(kind)
            cat = self.catalog
            if kind is ParamKind.TOPIC:
                pairs = [(f"{c.item.title}", c.item.id) for c in cat.topic_names.complete(text, limit)]
            elif kind is ParamKind.COMPARISON:
                pairs = [(c.item.title, c.item.id) for c in cat.comparison_names.complete(text, limit)]
            elif kind is ParamKind.ASPECT:
                comparison = self._comparison_for(context or {})
                if comparison is None:
                    return []
                pairs = [(c.item.title, c.item.id) for c in cat.aspect_names(comparison).complete(text, limit)]
            elif kind is ParamKind.FACT:
                specials = [("Today's fact", "today"), ("A random fact", "random")]
                specials = [p for p in specials if not text or p[1].startswith(text.casefold())]
                pairs = specials + [(f"{c.item.id}: {c.item.text}", c.item.id) for c in cat.fact_names.complete(text, limit)]
            elif kind is ParamKind.SOURCE:
                pairs = [(f"{c.item.id}: {c.item.title}", c.item.id) for c in cat.source_names.complete(text, limit)]
            elif kind is ParamKind.COMMAND:
                pairs = [(f"{c.item.name}: {c.item.summary}", c.item.name) for c in self._names.complete(text, limit)]
            else:
                return []
            return [Choice(shorten(label, CHOICE_TEXT), value[:CHOICE_TEXT]) for label, value in pairs[:limit]]
        except Exception:
            log.exception("autocomplete failed for %s %r", kind, prefix)
            return []

    def _comparison_for(self, context: Mapping[str, str]):
        left, right = context.get("left", "") or "", context.get("right", "") or ""
        if left and right:
            a = self.catalog.topic_names.lookup(clean_input(left)).item
            b = self.catalog.topic_names.lookup(clean_input(right)).item
            if a is not None and b is not None:
                return self.catalog.comparison_between(a.id, b.id)
        return self.catalog.default_comparison


def _finish(coro: Coroutine[object, None, Reply], unavailable: Callable[[], Reply]) -> Reply:
    """Run `coro` to completion without an event loop, as lookups never wait on anything.
    A command that has to wait (storage, a platform API) gets `unavailable()` instead."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    return unavailable()
