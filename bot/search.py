"""Ranked full-text search over topics, sections, comparison aspects and facts.

BM25 over stemmed words, with postings kept in impact order and capped per term: a term that
occurs everywhere adds little to the ranking, and the cap keeps a query on a 10,000-topic pack
within a few milliseconds. Unknown words fall back to prefix and fuzzy matches on the vocabulary.

Documents are ranked first by how many query words they hold, each word weighted by how
exactly it was found: as typed (1), only as another form of the same stem (`dose` for
`dosing`), as a prefix, or as a typo fix. So `tocilizumab dose` ranks passages on tocilizumab,
which the pack names as typed, above a teclistamab passage that only says `dosing`.
"""

from __future__ import annotations

import heapq
import math
import re
import sys
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator
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
SNIPPET = 180
# How much a query word counts towards coverage, by how it was found in the pack.
EXACT, STEMMED, PREFIX, FUZZY = 1.0, 0.8, 0.6, 0.5
# Ranking packs coverage and BM25 into one number: each tenth of a matched word is worth
# BM25_ROOM, more than a query's BM25 sum can reach, so `rank % BM25_ROOM` is the BM25 part.
BM25_ROOM = 10_000.0
UNIT = 10 * BM25_ROOM
RERANK = 20  # leading documents whose coverage is checked word by word
EXPANSIONS_KEPT = 20_000  # query words whose expansions are remembered
PREFIX_MIN, PREFIX_SLACK = 5, 4  # a word may stand for a pack term of 5+ letters that it extends by 4 at most

_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    return [stem(w) for w in WORD.findall(text.casefold()) if w not in STOP]


def words(text: str) -> list[str]:
    """The words of `text` as typed (case-folded), without stop words: what `terms` stems."""
    return [w for w in WORD.findall(text.casefold()) if w not in STOP]


@dataclass(frozen=True, slots=True)
class Document:
    kind: str  # "topic", "section", "aspect", "fact"
    title: str
    text: str  # shown in snippets
    command: str  # the canonical command that opens it
    extra: str = ""  # indexed but never shown (aliases, tags)
    sources: tuple[str, ...] = ()  # what the text draws on, for the footer of a card that shows it


@dataclass(frozen=True, slots=True)
class _Analysis:
    """One document as the index sees it: term ids with their counts (title words boosted),
    its length in terms, and the words it holds as typed."""

    terms: array  # of term ids
    counts: array  # parallel to `terms`
    length: int
    words: array  # ids of the words it holds as typed


@dataclass(frozen=True, slots=True)
class _Postings:
    """One term's postings in impact order: document positions and their BM25 weights."""

    docs: array
    weights: array

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return zip(self.docs, self.weights)


@dataclass(frozen=True, slots=True)
class Hit:
    document: Document
    score: float  # BM25: how strongly the document holds the words it holds
    snippet: str
    coverage: float = 0.0  # query words held, each weighted by how exactly it was found (EXACT = 1)
    index: int = -1  # the document's position in `SearchIndex.documents`


class SearchIndex:
    """BM25 postings over `documents`.

    Built from each document's *analysis* (its stemmed terms with their counts, and the words
    it holds as typed), kept compactly: term ids in one array, counts in another. A new index
    built with `previous` (the index of an earlier version of the same pack) reuses the
    analysis of every document that did not change, so a reload that changes a few files
    tokenises and stems only their documents; the weights, which depend on the whole pack
    (document frequencies, average length), are recomputed, so the result is exactly the
    index a cold build gives."""

    def __init__(self, documents: Iterable[Document], previous: SearchIndex | None = None):
        self.documents = list(documents)
        if previous is not None:
            self._term_ids, self._terms = previous._term_ids, previous._terms
            self._word_ids, self._words = previous._word_ids, previous._words
            old = previous._analysed
        else:
            self._term_ids: dict[str, int] = {}  # stemmed term -> id, and back
            self._terms: list[str] = []
            self._word_ids: dict[str, int] = {}  # word as typed -> id, and back
            self._words: list[str] = []
            old = {}
        stems: dict[str, tuple[int, int]] = {}  # each distinct word stemmed once per build
        analyses = [old.get(doc) or self._analyse(doc, stems) for doc in self.documents]
        self._analysed: dict[Document, _Analysis] = dict(zip(self.documents, analyses))
        self._build(analyses)
        self._bags: dict[int, frozenset[str]] = {}
        self._typed: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self._expanded: dict[str, list[tuple[str, float]]] = {}

    def _analyse(self, doc: Document, stems: dict[str, tuple[int, int]]) -> _Analysis:
        typed = Counter(WORD.findall(f"{doc.text} {doc.extra}".casefold()))
        for w in STOP.intersection(typed):
            del typed[w]
        title = words(doc.title)
        typed.update(dict.fromkeys(title, 0))  # title words are held as typed too; counted below
        counts: dict[int, int] = {}
        get, word_ids = stems.get, []
        for w, k in typed.items():
            ids = get(w)
            if ids is None:
                ids = self._word(w, stems)
            word_ids.append(ids[1])
            counts[ids[0]] = counts.get(ids[0], 0) + k
        for w in title:
            tid = get(w)[0]  # type: ignore[index]  # every title word is in `typed`, so known by now
            counts[tid] = counts.get(tid, 0) + TITLE_BOOST
        return _Analysis(array("I", counts.keys()), array("I", counts.values()), sum(counts.values()) or 1,
                         array("I", word_ids))

    def _word(self, word: str, stems: dict[str, tuple[int, int]]) -> tuple[int, int]:
        """(term id, word id) of a word as typed: its stem's id and its own, both kept across builds."""
        term = stem(word)
        tid = self._term_ids.get(term)
        if tid is None:
            tid = self._term_ids[term] = len(self._terms)
            self._terms.append(sys.intern(term))
        wid = self._word_ids.get(word)
        if wid is None:
            wid = self._word_ids[word] = len(self._words)
            self._words.append(sys.intern(word))
        ids = stems[word] = (tid, wid)
        return ids

    def _build(self, analyses: list[_Analysis]) -> None:
        n = len(self.documents) or 1
        avg = sum(a.length for a in analyses) / n if analyses else 1.0
        df: Counter[int] = Counter()
        for a in analyses:
            df.update(a.terms)
        idf = {t: self._idf(n, k) for t, k in df.items()}  # once per term, not once per posting
        postings: dict[int, list[tuple[float, int]]] = {t: [] for t in df}  # term id -> (-weight, position)
        k1 = K1 + 1
        for i, a in enumerate(analyses):
            norm = K1 * (1 - B + B * a.length / avg)  # as written, so the weights are bit for bit a cold build's
            for t, tf in zip(a.terms, a.counts):
                postings[t].append((-(idf[t] * tf * k1 / (tf + norm)), i))
        names = self._terms
        self._postings: dict[str, _Postings] = {}
        for t, p in postings.items():
            # (-weight, position): highest weight first, ties in document order, as a stable sort by weight gives.
            best = heapq.nsmallest(MAX_POSTINGS, p) if len(p) > MAX_POSTINGS else sorted(p)
            self._postings[names[t]] = _Postings(array("I", (d for _, d in best)), array("d", (-w for w, _ in best)))
        self._vocab = sorted(self._postings)
        held: set[int] = set()
        for a in analyses:
            held.update(a.words)
        words_ = self._words
        self._surfaces = frozenset(words_[w] for w in held)
        self._df = {names[t]: k for t, k in df.items()}
        self._n = n

    @staticmethod
    def _idf(n: int, df: int) -> float:
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def idf(self, term: str) -> float:
        """How telling a stemmed term is: high for rare terms, and highest for terms the pack lacks."""
        return self._idf(self._n, self._df.get(term, 0))

    def has_word(self, word: str) -> bool:
        """Whether the pack holds `word` exactly as typed (case-folded)."""
        return word.casefold() in self._surfaces

    def terms_of(self, index: int) -> frozenset[str]:
        """The stemmed terms of one document (title, text and hidden names), computed on demand."""
        bag = self._bags.get(index)
        if bag is None:
            doc = self.documents[index]
            if len(self._bags) >= EXPANSIONS_KEPT:
                self._bags.clear()
            bag = self._bags[index] = frozenset(terms(f"{doc.title} {doc.text} {doc.extra}"))
        return bag

    def expand(self, word: str) -> list[tuple[str, float]]:
        """Terms of the index that a query word stands for, each with how exactly it matched:
        its own stem (EXACT if the pack has the word as typed, else STEMMED), else prefixes,
        else one typo fix. Remembered per word: a typo fix scans the whole vocabulary."""
        found = self._expanded.get(word)
        if found is None:
            if len(self._expanded) >= EXPANSIONS_KEPT:
                self._expanded.clear()
            found = self._expanded[word] = self._expand(word)
        return found

    def _expand(self, word: str) -> list[tuple[str, float]]:
        term = stem(word)
        if term in self._postings:
            return [(term, EXACT if word in self._surfaces else STEMMED)]
        if len(term) >= 3:
            start = bisect_left(self._vocab, term)
            found = [v for v in self._vocab[start : start + 5] if v.startswith(term)]
            if found:
                return [(v, PREFIX) for v in found]
            # The other way round: the pack holds a shorter form the word begins ("predict" for "predictor").
            for cut in range(len(term) - 1, max(PREFIX_MIN, len(term) - PREFIX_SLACK) - 1, -1):
                if term[:cut] in self._postings:
                    return [(term[:cut], PREFIX)]
        if len(term) >= 4:
            best = process.extractOne(term, self._vocab, scorer=fuzz.ratio, score_cutoff=80)
            if best:
                return [(best[0], FUZZY)]
        return []

    def search(self, query: str, limit: int = 5, *, snippets: bool = True) -> list[Hit]:
        """The `limit` best documents for `query`; `snippets=False` when no one will read them."""
        wanted = list(dict.fromkeys(words(query)))
        if not wanted:
            return []
        # One number per document: coverage in units of UNIT (far above any BM25 sum), plus BM25.
        rank: dict[int, float] = {}
        get = rank.get
        expanded: list[tuple[str, list[tuple[str, float]]]] = []
        for word in wanted:
            expansions = self.expand(word)
            expanded.append((word, expansions))
            if len(expansions) == 1:
                term, exactness = expansions[0]
                bonus = exactness * UNIT
                for doc, weight in self._postings[term]:
                    rank[doc] = get(doc, 0.0) + bonus + weight
                continue
            # Several expansions: counted once per query word, by the best a document holds.
            best: dict[int, float] = {}
            for term, exactness in expansions:
                bonus = exactness * UNIT
                for doc, weight in self._postings[term]:
                    if bonus + weight > best.get(doc, 0.0):
                        best[doc] = bonus + weight
            for doc, value in best.items():
                rank[doc] = get(doc, 0.0) + value
        if not rank:
            return []
        # Coverage first (documents holding every word, as typed, rank above those holding some).
        # The vocabulary says whether a word occurs as typed anywhere; the few leading documents
        # are then checked one by one, so "dose" as typed beats "dosing" in the same pack.
        pool = heapq.nlargest(max(limit * 4, RERANK), rank, key=rank.__getitem__)
        scores = {d: rank[d] % BM25_ROOM for d in pool}
        exact = {d: self._coverage_in(d, expanded) for d in pool}
        top = sorted(pool, key=lambda d: (-exact[d], -scores[d], d))[:limit]
        used = [term for _, expansions in expanded for term, _ in expansions]
        return [
            Hit(self.documents[d], scores[d], self._snippet(self.documents[d].text, used) if snippets else "", exact[d], d)
            for d in top
        ]

    def _coverage_in(self, index: int, expanded: list[tuple[str, list[tuple[str, float]]]]) -> float:
        """Coverage of one document, each query word weighted by how exactly this document holds it."""
        cached = self._typed.get(index)
        if cached is None:
            doc = self.documents[index]
            typed = frozenset(WORD.findall(f"{doc.title} {doc.text} {doc.extra}".casefold()))
            if len(self._typed) >= EXPANSIONS_KEPT:
                self._typed.clear()
            cached = self._typed[index] = (typed, frozenset(stem(w) for w in typed if w not in STOP))
        surfaces, stems = cached
        total = 0.0
        for word, expansions in expanded:
            if word in surfaces:
                total += EXACT
                continue
            held = [exactness for term, exactness in expansions if term in stems]
            if held:
                total += min(max(held), STEMMED)
        return total

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
