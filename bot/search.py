"""Ranked full-text search over topics, sections, comparison aspects and facts.

BM25 over stemmed words, with postings kept in impact order and capped per term: a term that
occurs everywhere adds little to the ranking, and the cap keeps a query on a 10,000-topic pack
within a few milliseconds. Unknown words fall back to prefix and fuzzy matches on the vocabulary.
"""

from __future__ import annotations

import heapq
import math
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process

from .normalize import shorten

WORD = re.compile(r"\w+", re.UNICODE)
STOP = frozenset(
    "a an and are as at be by can for from how in into is it its may of on or such that the their "
    "them these this to was what when which with why".split()
)
K1, B = 1.2, 0.75
TITLE_BOOST = 3
MAX_POSTINGS = 1000  # per term, in impact order
COVERAGE = 1000.0  # bonus per matched query word, far above any BM25 weight
SNIPPET = 180

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    return [stem(w) for w in WORD.findall(text.casefold()) if w not in STOP]


@dataclass(frozen=True, slots=True)
class Document:
    kind: str  # "topic", "section", "aspect", "fact"
    title: str
    text: str  # shown in snippets
    command: str  # the canonical command that opens it
    extra: str = ""  # indexed but never shown (aliases, tags)
    sources: tuple[str, ...] = ()  # what the text draws on, for the footer of a card that shows it


@dataclass(frozen=True, slots=True)
class Hit:
    document: Document
    score: float
    snippet: str


class SearchIndex:
    def __init__(self, documents: Iterable[Document]):
        self.documents = list(documents)
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        counts: list[Counter[str]] = []
        lengths: list[int] = []
        for doc in self.documents:
            c = Counter(terms(doc.text + " " + doc.extra))
            for t in terms(doc.title):
                c[t] += TITLE_BOOST
            counts.append(c)
            lengths.append(sum(c.values()) or 1)
        n = len(self.documents) or 1
        avg = sum(lengths) / n if lengths else 1.0
        df = Counter(t for c in counts for t in c)
        for i, c in enumerate(counts):
            norm = K1 * (1 - B + B * lengths[i] / avg)
            for t, tf in c.items():
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                postings[t].append((i, idf * tf * (K1 + 1) / (tf + norm)))
        self._postings = {t: sorted(p, key=lambda x: -x[1])[:MAX_POSTINGS] for t, p in postings.items()}
        self._vocab = sorted(self._postings)

    def _expand(self, term: str) -> list[str]:
        """Words of the index that a query word stands for: itself, else prefixes, else a typo fix."""
        if term in self._postings:
            return [term]
        if len(term) >= 3:
            start = bisect_left(self._vocab, term)
            found = [v for v in self._vocab[start : start + 5] if v.startswith(term)]
            if found:
                return found
        if len(term) >= 4:
            best = process.extractOne(term, self._vocab, scorer=fuzz.ratio, score_cutoff=80)
            if best:
                return [best[0]]
        return []

    def search(self, query: str, limit: int = 5) -> list[Hit]:
        wanted = list(dict.fromkeys(terms(query)))
        if not wanted:
            return []
        scores: dict[int, float] = {}
        used: list[str] = []
        get = scores.get
        for term in wanted:
            expansions = self._expand(term)
            used += expansions
            for expansion in expansions:
                # COVERAGE per query word: documents holding every word rank above those holding some.
                for doc, weight in self._postings[expansion]:
                    scores[doc] = get(doc, 0.0) + weight + COVERAGE
        if not scores:
            return []
        best = heapq.nlargest(limit, scores, key=get)
        return [Hit(self.documents[d], scores[d] % COVERAGE, self._snippet(self.documents[d].text, used)) for d in best]

    @staticmethod
    def _snippet(text: str, used: list[str]) -> str:
        """A window of the text around the first word that matched."""
        stems = set(used)
        for m in WORD.finditer(text):
            word = m.group().casefold()
            if stem(word) in stems or any(stem(word).startswith(u) for u in stems):
                start = max(0, m.start() - SNIPPET // 3)
                if start:
                    space = text.rfind(" ", 0, start)
                    start = space + 1 if space >= 0 else start
                piece = shorten(text[start:], SNIPPET)
                return ("…" if start else "") + piece
        return shorten(text, SNIPPET)
