"""One matcher for lookups, "did you mean" and autocomplete, so the three never disagree.

Order: exact id or alias (after normalisation), then prefix, then fuzzy (rapidfuzz WRatio).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process

from .normalize import normalize

T = TypeVar("T")

AUTO_ACCEPT = 88.0  # a fuzzy match this good, and clearly ahead of the next, is taken as meant
SUGGEST = 60.0  # below this a candidate is not worth suggesting
CLEAR_LEAD = 5.0


@dataclass(frozen=True, slots=True)
class Candidate(Generic[T]):
    item: T
    key: str  # the id/alias that matched, as written in the pack
    score: float  # 100 = exact


@dataclass(frozen=True, slots=True)
class Match(Generic[T]):
    """Result of a lookup: `item` when the query resolved, else ranked `suggestions`."""

    item: T | None
    suggestions: tuple[Candidate[T], ...] = ()


class Matcher(Generic[T]):
    """Names (ids, aliases, titles) -> items, in the pack's order."""

    def __init__(self, entries: Iterable[tuple[T, str, Sequence[str]]]):
        """`entries`: (item, display id, names). The id is listed first in completions."""
        self._items: list[T] = []
        self._ids: list[str] = []
        self._exact: dict[str, int] = {}
        self._keys: list[str] = []
        self._key_owner: list[int] = []
        self._key_shown: list[str] = []
        for item, ident, names in entries:
            index = len(self._items)
            self._items.append(item)
            self._ids.append(ident)
            for name in (ident, *names):
                key = normalize(name)
                if not key:
                    continue
                self._exact.setdefault(key, index)
                self._keys.append(key)
                self._key_owner.append(index)
                self._key_shown.append(name)
        self._sorted = sorted(range(len(self._keys)), key=self._keys.__getitem__)
        self._sorted_keys = [self._keys[i] for i in self._sorted]

    def exact(self, query: str) -> T | None:
        index = self._exact.get(normalize(query))
        return None if index is None else self._items[index]

    def ranked(self, query: str, limit: int = 5, cutoff: float = SUGGEST) -> list[Candidate[T]]:
        """Distinct items ranked by their best-matching name: exact, prefix, then fuzzy."""
        key = normalize(query)
        if not key:
            return [Candidate(item, ident, 0.0) for item, ident in zip(self._items[:limit], self._ids)]
        best: dict[int, Candidate[T]] = {}

        def offer(index: int, shown: str, score: float) -> None:
            current = best.get(index)
            if current is None or score > current.score:
                best[index] = Candidate(self._items[index], shown, score)

        exact = self._exact.get(key)
        if exact is not None:
            offer(exact, self._ids[exact], 100.0)
        start = bisect_left(self._sorted_keys, key)
        for k, pos in zip(self._sorted_keys[start : start + 200], self._sorted[start : start + 200]):
            if not k.startswith(key):
                break
            if k != key:  # prefix of a name: strong, shorter completions first
                offer(self._key_owner[pos], self._key_shown[pos], 95.0 - min(4.0, (len(k) - len(key)) / 4))
        for k, score, pos in process.extract(key, self._keys, scorer=fuzz.WRatio, limit=max(limit * 3, 10), score_cutoff=cutoff):
            # Very short queries only fuzzy-match names of similar length ("il7" ~ "il6", not "interleukin").
            if len(key) <= 3 and len(k) > len(key) + 2:
                continue
            offer(self._key_owner[pos], self._key_shown[pos], min(float(score), 94.0))
        order = sorted(best, key=lambda index: (-best[index].score, index))
        return [best[index] for index in order[:limit]]

    def lookup(self, query: str) -> Match[T]:
        """Resolve a query: exact wins; a confident fuzzy or unique prefix match is taken too."""
        hit = self.exact(query)
        if hit is not None:
            return Match(hit)
        ranked = self.ranked(query, limit=5)
        if ranked:
            top = ranked[0]
            runner_up = ranked[1].score if len(ranked) > 1 else 0.0
            if top.score >= AUTO_ACCEPT and top.score - runner_up >= CLEAR_LEAD:
                return Match(top.item, tuple(ranked))
        return Match(None, tuple(ranked))

    def complete(self, prefix: str, limit: int = 25) -> list[Candidate[T]]:
        """Autocomplete: everything in pack order for an empty prefix, else the ranked matches."""
        if not normalize(prefix):
            return [Candidate(item, ident, 0.0) for item, ident in list(zip(self._items, self._ids))[:limit]]
        return self.ranked(prefix, limit=limit, cutoff=SUGGEST - 10)
