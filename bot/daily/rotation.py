"""Which fact a channel gets next: every fact once, in the channel's own shuffled order, then again.

The order is not a stored list but a sort key per fact, derived from the channel's seed, the
cycle number and the fact id. So a pack reload that adds facts slots them into the current
cycle without reshuffling the rest, and removed facts simply stop appearing: the cycle goes on
and nothing crashes. Only the ids posted in this cycle are stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Rotation:
    """A channel's place in its rotation: `done` holds the fact ids posted in cycle `cycle`."""

    seed: int
    cycle: int = 0
    done: frozenset[str] = field(default_factory=frozenset)
    last: str | None = None  # the fact posted most recently, so a new cycle does not open with it


def _key(seed: int, cycle: int, fact_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{cycle}:{fact_id}".encode(), digest_size=8).digest()


def _order(state: Rotation, facts: Iterable[str]) -> list[str]:
    return sorted(set(facts), key=lambda fact_id: _key(state.seed, state.cycle, fact_id))


def _current(state: Rotation, facts: Iterable[str]) -> tuple[Rotation, list[str]]:
    """The state whose cycle still has facts to post (starting the next cycle if this one is
    used up) and those facts in order."""
    facts = set(facts)
    pending = _order(state, facts - state.done)
    if pending or not facts:
        return state, pending
    fresh = replace(state, cycle=state.cycle + 1, done=frozenset())
    order = _order(fresh, facts)
    if len(order) > 1 and order[0] == state.last:
        order.append(order.pop(0))  # never the same fact twice in a row across a cycle boundary
    return fresh, order


def upcoming(state: Rotation, facts: Iterable[str]) -> str | None:
    """The fact this channel gets next (None when the pack has no facts)."""
    _, pending = _current(state, facts)
    return pending[0] if pending else None


def consume(state: Rotation, fact_id: str, facts: Iterable[str]) -> Rotation:
    """The state after `fact_id` was posted. A fact posted out of turn (chosen before a reload)
    counts as done in this cycle too, so it does not come round again before the others."""
    current, _ = _current(state, facts)
    if fact_id in current.done:
        return replace(current, last=fact_id)
    return replace(current, done=current.done | {fact_id}, last=fact_id)


def left_in_cycle(state: Rotation, facts: Iterable[str]) -> int:
    """How many facts the channel still gets before the order starts over (counting the next)."""
    _, pending = _current(state, facts)
    return len(pending)
