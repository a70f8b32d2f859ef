"""The engine: one entry point for every adapter. A Request in, a Reply out.

`Engine.handle(request)` serves slash commands, typed options, mentions, DMs, buttons and
scheduled posts alike; `execute` and `invoke` are the same path for synchronous callers.
It never raises on user input. Problems the user can fix become a private error card that
says what to type; anything unexpected is logged and answered with a polite apology.

A typed line is read in this order: the way it addresses the bot is dropped ("/crs",
"!crs", "/ crs", "/crs/topic", "@cytobot", or the bare prefix word before a command name);
a command word runs its command; a mistyped command word with one clear correction runs that
command and the reply says so; anything else is a question for the `ask` command, answered
from the pack or honestly not covered. The prefix comes from `prefix`, never from the pack.

Every answered request is reported once, here: one log line (platform, command, latency,
outcome; never what was typed) and one `CommandEvent` to the observer the composition root
registered (metrics). The pack can be swapped while serving (`replace_catalog`): the catalog
and the context built on it change in one assignment, so a request sees one pack or the other.
"""

from __future__ import annotations

import contextvars
import dataclasses
import inspect
import itertools
import logging
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from rapidfuzz.distance import OSA

from .ask.words import FILLER, GREETINGS, THANKS
from .cards import CardMaker
from .catalog import Catalog
from .commands import REGISTRY, Args, CommandSpec, Context, ParamKind, ParamSpec, UserError, command_names, context_args
from .cache import load_catalog
from .loader import content_dir_from_env
from .normalize import clean_input, normalize, shorten
from .observe import NO_COMMAND, CommandEvent, Observer, Outcome
from .reply import Action, ActionKind, CardKind, Field, Reply, Visibility
from .reply_cache import SIZE, TRACE, ReplyCache, Trace, watched
from .request import CONSOLE, Caller, Request

__all__ = ["Caller", "Choice", "CommandSpec", "Engine", "ParamKind", "ParamSpec", "Request", "command_names"]

log = logging.getLogger(__name__)
command_log = logging.getLogger("bot.commands.log")  # one line per request; its own name so it can be filtered

MAX_INPUT = 500  # characters of a command line, after cleaning
TYPO_MIN = 4  # shorter words are never read as mistyped commands ("hi" is not "help")
TYPO_LINE = 4  # a longer line is read as a question first, however close its first word is to a command
# Words that open questions or chat: never a mistyped command, however close ("abut" is, "what" is not).
NOT_TYPOS = FILLER | GREETINGS | THANKS
CHOICE_TEXT = 100  # Discord's autocomplete limit; harmless elsewhere
PUBLIC_WORD = "public"
SHARE_LABEL = "Share in channel"


@dataclass(frozen=True, slots=True)
class Choice:
    """An autocomplete choice: what to show, and what to fill in."""

    label: str
    value: str


_GENERATIONS = itertools.count(1)  # process-wide, so two engines never share a number for different packs


@dataclass(frozen=True, slots=True)
class _PackState:
    """Everything that depends on the pack, swapped as one object."""

    catalog: Catalog
    ctx: Context
    generation: int


@dataclass(slots=True)
class _Trace:
    """What one request resolved to, filled in by `_run` while `handle` waits."""

    command: str = NO_COMMAND


_TRACE: contextvars.ContextVar[_Trace | None] = contextvars.ContextVar("cytobot_trace", default=None)


@dataclass(frozen=True, slots=True)
class _Kept:
    """A reply kept by the reply cache, with the command that made it (for the log line)."""

    reply: Reply
    command: str


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
        questions: str | None = "ask",
        observer: Observer | None = None,
    ):
        """`cache_replies=False` answers every request afresh (benchmarks of the uncached path)."""
        self.prefix = prefix
        self.registry = registry
        # The command that answers a line which is not a command (None: such lines are errors).
        self.questions = questions
        self.observer = observer or Observer()
        self._names = command_names(registry)
        self._replies = ReplyCache(size=SIZE if cache_replies else 0)
        self._command_words = frozenset(spec.name.casefold() for spec in registry)
        self._state = _PackState(catalog, Context(
            catalog=catalog,
            cards=CardMaker(catalog),
            prefix=prefix,
            clock=clock or (lambda: datetime.now(timezone.utc)),
            rng=rng or random.Random(),
            registry=registry,
            services=dict(services or {}),
        ), next(_GENERATIONS))

    @property
    def catalog(self) -> Catalog:
        return self._state.catalog

    @property
    def _ctx(self) -> Context:
        return self._state.ctx

    @property
    def generation(self) -> int:
        """Changes whenever the pack is replaced: caches of rendered answers key on it."""
        return self._state.generation

    def replace_catalog(self, catalog: Catalog) -> int:
        """Serve `catalog` from now on, in one assignment; returns the new generation. Call it on
        the event loop's thread: a request in progress keeps the context it started with."""
        ctx = dataclasses.replace(self._state.ctx, catalog=catalog, cards=CardMaker(catalog))
        self._state = _PackState(catalog, ctx, next(_GENERATIONS))
        return self._state.generation

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

    @property
    def services(self) -> Mapping[str, object]:
        """The services commands reach through `ctx.services` (e.g. "daily"), for adapters that
        build another engine on the same pack (another command prefix) and must keep them."""
        return self._ctx.services

    # ------------------------------------------------------------------ answering

    async def handle(self, request: Request) -> Reply:
        """Answer one request: a line as typed in chat, or a command with typed options.
        A repeated request whose answer depends only on the pack is answered from
        `bot.reply_cache` (never `fact today`, a random fact, or anything that reads the caller
        or a service); it is logged and counted like any other."""
        started = time.perf_counter()
        generation = self.generation
        key = self._replies.key(request, generation)
        found = self._replies.get(key) if key is not None else None
        if isinstance(found, _Kept):
            outcome = Outcome.USER_ERROR if found.reply.is_error else Outcome.OK
            self._report(request, found.command, outcome, time.perf_counter() - started)
            return found.reply
        trace = _Trace()
        token = _TRACE.set(trace)
        purity = Trace() if key is not None and not self._replies.varies(found) else None
        purity_token = TRACE.set(purity)
        try:
            if request.command is not None:
                reply = await self._invoke(request)
            else:
                reply = await self._execute(request)
            outcome = Outcome.USER_ERROR if reply.is_error else Outcome.OK
        except Exception:  # never let user input crash an adapter
            what = request.command if request.command is not None else "a typed line"
            log.exception("unexpected error answering %s (command %s) on %s", what, trace.command, request.caller.platform)
            reply, outcome, purity = self._internal_error(), Outcome.ERROR, None  # never kept
        finally:
            _TRACE.reset(token)
            TRACE.reset(purity_token)
        if purity is not None and self.generation == generation:  # not if the pack was swapped meanwhile
            self._replies.put(key, _Kept(reply, trace.command) if purity.pure else None)
        self._report(request, trace.command, outcome, time.perf_counter() - started)
        return reply

    def _report(self, request: Request, command: str, outcome: Outcome, seconds: float) -> None:
        event = CommandEvent(request.caller.platform, command, str(request.origin.value), outcome, seconds)
        if command_log.isEnabledFor(logging.INFO):
            ms = round(seconds * 1000, 3)
            command_log.info(
                "%s %s via %s: %s in %.1f ms", event.platform, command, event.origin, outcome.value, ms,
                extra={"platform": event.platform, "command": command, "origin": event.origin,
                       "outcome": outcome.value, "latency_ms": ms},
            )
        try:
            self.observer.command(event)
        except Exception:  # metrics must never cost a user their answer
            log.exception("command observer failed")

    def execute(self, line: str, *, public: bool = False, caller: Caller = CONSOLE) -> Reply:
        """`handle` for synchronous callers (tests, benchmarks, `cytobot ask` lookups)."""
        return _finish(self.handle(Request.text(line, caller, public=public)), self._needs_loop)

    def invoke(self, name: str, args: Mapping[str, object] | None = None, *, public: bool = False,
               caller: Caller = CONSOLE) -> Reply:
        """`handle` with typed options, for synchronous callers: `invoke("compare", {"aspect": "severity"})`."""
        return _finish(self.handle(Request.options(name, args, caller, public=public)), self._needs_loop)

    async def _execute(self, request: Request) -> Reply:
        """A typed line: a command (whatever prefix it carries), a mistyped command, or a question."""
        line, public = request.line, request.public
        text = clean_input(line if isinstance(line, str) else str(line))
        if len(text) > MAX_INPUT:
            return self._error(
                f"That is {len(text):,} characters long; I can look up at most {MAX_INPUT}.",
                (self._ctx.hint("help"),),
                "Too long",
            )
        words = self._strip_prefix(text.split())
        if len(words) > 1 and words[-1].casefold() == PUBLIC_WORD:
            public, words = True, words[:-1]
        if not words:
            return await self._run(self._names.exact("help"), {}, public, request.caller)
        spec = self._names.exact(words[0])
        rest = " ".join(words[1:])
        ask = self._names.exact(self.questions) if self.questions else None
        if spec is not None:
            reply = await self._run(spec, spec.parse_text(self._ctx, rest), public, request.caller)
            sentence = any(w.casefold() in FILLER for w in words[1:])
            if reply.is_error and ask is not None and spec is not ask and sentence:
                # "compare the monitoring of X and Y", "define the ICE score": a sentence that starts
                # with a command word. If the command cannot read it, the question path may.
                answer = await self._run(ask, {ask.params[0].name: " ".join(words)}, public, request.caller)
                if not answer.is_error:
                    return answer
            return reply
        fixed, near = self._correction(words[0])
        if fixed is not None and len(words) <= TYPO_LINE:
            reply = await self._run(fixed, fixed.parse_text(self._ctx, rest), public, request.caller)
            notice = f"I read “{shorten(words[0], 40)}” as the command “{fixed.name}”."
            return dataclasses.replace(reply, notice=notice)
        if ask is None:
            return self._unknown_command(words[0], near)
        reply = await self._run(ask, {ask.params[0].name: " ".join(words)}, public, request.caller)
        if reply.is_error and near:  # not a question the pack answers, and close to a command
            return self._unknown_command(words[0], near)
        return reply

    def _strip_prefix(self, words: list[str]) -> list[str]:
        """Drop how a command was addressed, as people type it in chat or the console:
        "/crs fact", "!crs fact", "/ crs fact", "/crs/topic il6", "@cytobot topic il6" (a mention
        in chat syntax is already gone), and "crs fact" when a command name follows the bare
        prefix word. Without a command name after it, "crs" stays: it may name a topic."""
        while words and words[0].startswith("@") and len(words[0]) > 1:
            words = words[1:]  # "@cytobot topic il6" typed as plain text
        if not words:
            return words
        prefix = self.prefix.casefold()
        bare = prefix.lstrip("/!.")
        first = words[0].casefold()
        sigils = {prefix} | ({f"{s}{bare}" for s in "/!."} if bare else set())
        if first in sigils:
            return words[1:]
        for sigil in sigils:
            if first.startswith(sigil + "/") and len(first) > len(sigil) + 1:
                return [words[0][len(sigil) + 1 :], *words[1:]]  # "/crs/topic il6"
        if bare and first in {"/", "!"} and len(words) > 1 and words[1].casefold() == bare:
            return words[2:]  # "/ crs fact"
        if bare and first == bare and len(words) > 1 and words[1].casefold() in self._command_words:
            return words[1:]  # "crs fact", "crs about": the bare prefix before a command's name
        return words

    def _correction(self, word: str) -> tuple[CommandSpec | None, tuple[CommandSpec, ...]]:
        """A mistyped command word: (the command, if exactly one is within typo distance; the
        commands close enough to suggest). Words of the pack and of plain questions never count."""
        typed = word.casefold()
        if len(typed) < TYPO_MIN or not typed.isalpha() or typed in NOT_TYPOS:
            return None, ()
        if self.catalog.topic_names.exact(typed) is not None or self.catalog.search_index.has_word(typed):
            return None, ()
        limit = 1 if len(typed) <= 5 else 2
        close: dict[str, int] = {}
        for spec in self.registry:
            for name in (spec.name, *spec.aliases):
                distance = OSA.distance(typed, name)
                if distance <= limit + 1:
                    close[spec.name] = min(close.get(spec.name, distance), distance)
        within = [name for name, d in close.items() if d <= limit]
        near = tuple(s for s in self.registry if s.name in close)
        if len(within) == 1:
            return self._names.exact(within[0]), near
        return None, near

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
        trace = _TRACE.get()
        if trace is not None:
            trace.command = spec.name
        ctx = self._ctx if caller is self._ctx.caller else dataclasses.replace(self._ctx, caller=caller)
        try:
            answer = spec.handler(watched(ctx), args)
            if inspect.isawaitable(answer):
                purity = TRACE.get()
                if purity is not None:
                    purity.pure = False  # it waits on storage or a platform: never kept
                answer = await answer
        except UserError as exc:
            return self._error(exc.message, exc.hints, exc.title)
        public = public and not answer.private
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

    def _unknown_command(self, word: str, near: tuple[CommandSpec, ...] = ()) -> Reply:
        ctx = self._ctx
        if near:
            return self._error(
                f"I don't know the command {ctx.quote(word)}, and the pack does not answer it as a question. Did you mean:",
                tuple(ctx.hint(s.usage) for s in near[:3]) + (ctx.hint("help"),),
                "Did you mean…",
            )
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
            elif kind is ParamKind.ZONE:
                from .daily.when import complete_zone  # the zone list is built on first use only

                pairs = [(name, name) for name in complete_zone(text, limit)]
            else:
                return []
            return [Choice(shorten(label, CHOICE_TEXT), value[:CHOICE_TEXT]) for label, value in pairs[:limit]]
        except Exception:
            log.exception("autocomplete failed for %s (%d characters typed)", kind, len(prefix or ""))
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
