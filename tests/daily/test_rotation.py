"""Rotation: every fact once per cycle in the channel's own order, across cycles and reloads."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.daily.rotation import Rotation, consume, left_in_cycle, upcoming

FACTS = [f"fact-{i}" for i in range(12)]


def take(state: Rotation, facts: list[str], n: int) -> tuple[Rotation, list[str]]:
    posted = []
    for _ in range(n):
        fact = upcoming(state, facts)
        assert fact is not None
        posted.append(fact)
        state = consume(state, fact, facts)
    return state, posted


def test_each_cycle_is_every_fact_once_in_a_fresh_order() -> None:
    state, posted = take(Rotation(seed=42), FACTS, 3 * len(FACTS))
    cycles = [posted[i : i + len(FACTS)] for i in range(0, len(posted), len(FACTS))]
    for cycle in cycles:
        assert sorted(cycle) == sorted(FACTS)
    assert cycles[0] != cycles[1] != cycles[2]  # reshuffled each cycle
    assert all(a != b for a, b in zip(posted, posted[1:]))  # never the same fact twice in a row
    assert state.cycle == 2 and len(state.done) == len(FACTS)
    assert left_in_cycle(state, FACTS) == len(FACTS)  # used up: the next cycle is whole


def test_channels_have_their_own_order() -> None:
    orders = {tuple(take(Rotation(seed=seed), FACTS, len(FACTS))[1]) for seed in range(20)}
    assert len(orders) == 20


def test_facts_left_counts_down_and_starts_over() -> None:
    state = Rotation(seed=1)
    for left in range(len(FACTS), 0, -1):
        assert left_in_cycle(state, FACTS) == left
        state = consume(state, upcoming(state, FACTS), FACTS)  # type: ignore[arg-type]
    assert left_in_cycle(state, FACTS) == len(FACTS)  # the next cycle


def test_reload_adding_facts_joins_the_current_cycle_without_reshuffling() -> None:
    state, first = take(Rotation(seed=7), FACTS, 5)
    before = take(state, FACTS, len(FACTS) - 5)[1]
    added = FACTS + ["new-a", "new-b"]
    after = take(state, added, len(added) - 5)[1]
    assert sorted(first + after) == sorted(added)  # the cycle finishes with the new facts in it
    assert [f for f in after if f in FACTS] == before  # the old facts keep their order


def test_reload_removing_facts_never_posts_them_and_never_crashes() -> None:
    state, first = take(Rotation(seed=9), FACTS, 4)
    removed = {first[0], FACTS[-1], FACTS[-2]}
    remaining = [f for f in FACTS if f not in removed]
    state, rest = take(state, remaining, len([f for f in remaining if f not in first]))
    assert set(first[1:] + rest) == set(remaining) and not set(rest) & removed
    assert left_in_cycle(state, remaining) == len(remaining)  # the cycle ended; a new one starts
    state, nxt = take(state, remaining, len(remaining))
    assert sorted(nxt) == sorted(remaining)


def test_no_facts_and_a_fact_posted_out_of_turn() -> None:
    assert upcoming(Rotation(seed=1), []) is None and left_in_cycle(Rotation(seed=1), []) == 0
    state = consume(Rotation(seed=1), "fact-3", FACTS)  # posted although not next (chosen before a reload)
    assert "fact-3" in state.done and upcoming(state, FACTS) != "fact-3"
    assert consume(Rotation(seed=1), "gone", FACTS).done == {"gone"}  # a removed fact does no harm


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**62), changes=st.lists(st.tuples(st.integers(0, 6), st.sets(st.integers(0, 30), min_size=1)), max_size=6))
def test_no_repeat_before_every_current_fact_was_posted(seed: int, changes: list[tuple[int, set[int]]]) -> None:
    """Whatever reloads happen, within a cycle no fact comes twice."""
    state = Rotation(seed=seed)
    facts = FACTS
    seen_this_cycle: set[str] = set()
    for steps, ids in [(8, set(range(12))), *changes]:
        facts = [f"fact-{i}" for i in sorted(ids)]
        for _ in range(steps):
            cycle = state.cycle
            fact = upcoming(state, facts)
            assert fact in facts
            state = consume(state, fact, facts)  # type: ignore[arg-type]
            if state.cycle != cycle:
                seen_this_cycle = set()
            assert fact not in seen_this_cycle
            seen_this_cycle.add(fact)  # type: ignore[arg-type]
