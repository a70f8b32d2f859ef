"""The command registry: every command defined once, read by every adapter.

Commands live in modules by family (questions, lookups, and later daily facts and grading);
the registry is their concatenation, in the order help lists them.
"""

from __future__ import annotations

from .base import (
    Answer,
    Args,
    CommandSpec,
    Context,
    Handler,
    ParamKind,
    ParamSpec,
    Parser,
    UserError,
    command_names,
    context_args,
)
from .lookups import LOOKUPS
from .questions import QUESTIONS

REGISTRY: tuple[CommandSpec, ...] = (*QUESTIONS, *LOOKUPS)

__all__ = [
    "REGISTRY", "Answer", "Args", "CommandSpec", "Context", "Handler", "ParamKind", "ParamSpec", "Parser",
    "UserError", "command_names", "context_args",
]
