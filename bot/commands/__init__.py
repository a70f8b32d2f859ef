"""The command registry: every command defined once, read by every adapter.

Commands live in modules by family (questions, lookups, grading, daily facts); the
registry is their concatenation, in the order help lists them.
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
    Variant,
    command_names,
    context_args,
)
from .daily import DAILY
from .grading import GRADING
from .lookups import LOOKUPS
from .questions import QUESTIONS

REGISTRY: tuple[CommandSpec, ...] = (*QUESTIONS, *LOOKUPS, *GRADING, *DAILY)

__all__ = [
    "REGISTRY", "Answer", "Args", "CommandSpec", "Context", "Handler", "ParamKind", "ParamSpec", "Parser",
    "UserError", "Variant", "command_names", "context_args",
]
