"""What every command family shares: parameters, the context handlers see, errors, answers.

A command is a `CommandSpec`: its name, help text, typed parameters, a handler that turns
resolved arguments into an answer, and a parser that turns free text ("crs storm severity")
into those arguments. Typed platforms (Discord options) skip the parser and pass arguments.
Handlers may be plain functions (lookups) or coroutines (commands that wait on storage).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..cards import CardMaker
from ..matcher import Matcher
from ..normalize import shorten
from ..reply import Card
from ..request import CONSOLE, Caller

if TYPE_CHECKING:
    from ..catalog import Catalog

Args = dict[str, str]


class ParamKind(str, Enum):
    """What a parameter names; adapters use it for option types and autocomplete."""

    TOPIC = "topic"
    COMPARISON = "comparison"
    ASPECT = "aspect"
    TEXT = "text"
    FACT = "fact"
    SOURCE = "source"
    COMMAND = "command"
    ZONE = "zone"  # an IANA time zone name (Europe/Berlin)
    CHOICE = "choice"  # one of a fixed list: ParamSpec.choices


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    description: str
    kind: ParamKind
    required: bool = False
    choices: tuple[str, ...] = ()  # the accepted values, for ParamKind.CHOICE
    choice_labels: tuple[str, ...] = ()  # what to show for each choice, same order (default: the value)


@dataclass(frozen=True, slots=True)
class Variant:
    """A typed form of a command generated from the pack, e.g. one per grading scale.

    Typed platforms show it as its own subcommand (Discord: `/crs grade crs`), with `params`
    as options; every call carries `fixed` too (e.g. the scale's id)."""

    name: str
    summary: str
    params: tuple[ParamSpec, ...]
    fixed: tuple[tuple[str, str], ...] = ()


class UserError(Exception):
    """Something the user can fix: `message` says what was wrong, `hints` what to type instead."""

    def __init__(self, message: str, hints: tuple[str, ...] = (), title: str = "I couldn't answer that"):
        super().__init__(message)
        self.message = message
        self.hints = hints
        self.title = title


@dataclass(frozen=True, slots=True)
class Answer:
    """What a handler returns: the cards, and the canonical command that reproduces them."""

    cards: tuple[Card, ...]
    command: str = ""  # empty: nothing worth sharing
    private: bool = False  # only ever for the asker (a preview of tomorrow's post), even if `public` was asked


@dataclass
class Context:
    """What handlers may use. Built by the engine; tests inject clock and randomness."""

    catalog: Catalog
    cards: CardMaker
    prefix: str
    clock: Callable[[], datetime]
    rng: random.Random
    registry: tuple[CommandSpec, ...]
    caller: Caller = CONSOLE
    # Services that commands beyond lookups need, by name (e.g. "daily": the subscriptions);
    # absent when this process has none, and those commands then say so.
    services: Mapping[str, Any] = field(default_factory=dict)

    def quote(self, text: str) -> str:
        """User input echoed in a message: cleaned already, and kept short."""
        return "“" + shorten(text, 60) + "”"

    def hint(self, command: str) -> str:
        """A command to suggest, exactly as given."""
        return f"{self.prefix} {command}"

    def example(self, template: str) -> str:
        """A command to suggest where `{topic}`, `{aspect}`, ... are filled from the pack."""
        return self.hint(template.format_map(self.catalog.examples))


Handler = Callable[[Context, Args], "Answer | Awaitable[Answer]"]
Parser = Callable[[Context, str], Args]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    summary: str
    usage: str
    handler: Handler
    params: tuple[ParamSpec, ...] = ()
    aliases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    parse: Parser | None = None  # None: the whole text goes to the first parameter
    # Typed forms built from the pack (None: the command's own params are its only form).
    variants: Callable[[Catalog], tuple[Variant, ...]] | None = None

    def parse_text(self, ctx: Context, text: str) -> Args:
        if self.parse is not None:
            return self.parse(ctx, text)
        if not self.params:
            return {}
        return {self.params[0].name: text} if text else {}


@lru_cache(maxsize=8)
def command_names(registry: tuple[CommandSpec, ...]) -> Matcher[CommandSpec]:
    """Command names and aliases, through the same matcher as every other lookup."""
    return Matcher((spec, spec.name, spec.aliases) for spec in registry)


def context_args(args: Mapping[str, object]) -> Args:
    """Typed options from a platform, as strings; empty values dropped."""
    return {k: str(v).strip() for k, v in args.items() if v is not None and str(v).strip()}
