"""What the core reports about its own work, for logs and metrics, without knowing either.

The engine describes every answered request as one `CommandEvent`; the daily scheduler
describes every post as a `PostEvent` and the paused subscriptions as counts by reason. An
`Observer` receives them. The core ships no metrics library: the composition root
(`adapters/`) registers an observer that feeds Prometheus. Every field is bounded (names
from the registry, fixed outcome words): no channel, user or typed text ever reaches an
observer, so nothing personal can end up in a metric label or a log line through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

NO_COMMAND = "none"  # the request named no command the registry knows (unknown word, too long, ...)


class Outcome(str, Enum):
    """How a request ended. `USER_ERROR` is a private "what to type" card; `ERROR` is our fault."""

    OK = "ok"
    USER_ERROR = "user_error"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class CommandEvent:
    """One request answered by `Engine.handle`."""

    platform: str
    command: str  # a registry name, or NO_COMMAND
    origin: str  # bot.request.Origin value: command, mention, direct, button, schedule
    outcome: Outcome
    seconds: float  # time spent in the engine, not in the platform's network


@dataclass(frozen=True, slots=True)
class PostEvent:
    """One scheduled (daily) post attempt: `outcome` is a fixed word (sent, retry, failed, paused,
    missed, ...), `lag_seconds` how long after its due time the attempt ended."""

    platform: str
    outcome: str
    lag_seconds: float


class Observer:
    """Receives what the core reports; the base class ignores everything (subclass what you need).
    Methods must be fast and must not raise: they run on the request path."""

    def command(self, event: CommandEvent) -> None:
        return None

    def daily_post(self, event: PostEvent) -> None:
        return None

    def paused(self, counts: Mapping[str, int]) -> None:
        """Paused subscriptions by reason, all of them (absent reasons count zero)."""
        return None
