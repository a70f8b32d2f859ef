"""Which passage of the pack answers a question, and how sure that is.

Candidates are the passages the question's words name (a topic and its named sections, a
comparison and its named aspects, facts by tag) plus the leading search results. Each is
scored by how much of the question it explains: every content word counts with its weight
(rare words weigh more; words the pack never uses weigh as much as fairly rare ones), fully
when a name of the passage says it, partly when only the passage's text holds it. The share
explained is the confidence. Below `CONFIDENT`, or without a word that really anchors the
passage (a name, or a rare word as typed), the answer is "not covered": a wrong answer given
with confidence is worse than none in a medical reference.

Shapes adjust this: a comparison question that names two topics the pack compares gets that
comparison (or the aspect it names); "what is X" must find X itself, as a name, as a phrase or
at the start of a passage, so "what is the meaning of life" never lands on a definition section.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..catalog import Catalog
from ..search import EXACT, SearchIndex
from .names import CROWDED, Mention, NameIndex, Ref
from .shapes import Kind, shape_of
from .vitals import Offer, read_answers, vocabularies
from .words import INTENTS, Synonyms, Token, small_talk, strip_greeting, tokenize

CONFIDENT = 0.6  # share of the question's weight a passage must explain
TEXT = 0.6  # a word found only in a passage's text counts this much of a name
PREFIX_NAME = 0.9  # a word that only begins a name word ("treat" for "treatment")
TAG = 0.9  # a fact's tag: an index word, a little less telling than a title or an alias
UNKNOWN_WEIGHT = 3.0  # a word the pack never uses: about as telling as a rare pack word
MIN_WEIGHT, MAX_WEIGHT = 0.5, 4.0
SUBJECT_WEIGHT = 2.0  # at least this for words naming a topic: the pack's main subject is rare in
# questions even when it is everywhere in the pack, and a passage on another topic is wrong
RARE = 3.0  # idf from which a word found as typed anchors a passage by itself (~5% of passages)
SUMMARY_BONUS = 1.5  # "what is X" and a bare topic name: the topic's summary
START_BONUS = 0.75  # "what is X": a passage that starts by saying what X is
NAMED_BONUS = 0.3  # a bare section or aspect name: that section or aspect
HALF_PAIR = 0.25  # an aspect when the question names only one of the two topics compared
MAIN_VIEW = 0.1  # an aspect of the pack's main comparison when no topic is named
SEARCH_CANDIDATES = 10
CACHED_PASSAGES = 4096  # passages whose words are kept between questions
ALTERNATIVES = 3
CUE_WEIGHT = 1.0  # a question word the pack uses as a name (see NameIndex.cue)
# A passage that gives a dose says an amount: a number and a unit of mass (per kg or not).
DOSE_FIGURE = re.compile(r"\d\s*(?:mg|g|mcg|µg|microgram|milligram)s?\b", re.IGNORECASE)

# A passage: ("topic", tid) ("section", tid, sid) ("comparison", cid) ("aspect", cid, aid) ("fact", fid)
Key = tuple[str, ...]
# On a tie, the more specific passage first: a question with more than a name asks for detail.
KIND_ORDER = {"section": 0, "fact": 1, "aspect": 2, "topic": 3, "comparison": 4}


@dataclass(frozen=True, slots=True)
class Passage:
    key: Key
    command: str  # the command name that shows it
    args: tuple[tuple[str, str], ...]  # its arguments
    line: str  # the canonical command line, for hints and sharing


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the answerer found. `kind`: "answer", "greeting", "thanks", "not_covered", "empty"."""

    kind: str
    best: Passage | None = None
    confidence: float = 0.0
    alternatives: tuple[Passage, ...] = ()
    closest: tuple[str, ...] = ()  # command lines worth offering when not covered
    # "lacking": a management question (`intent`, e.g. "dosing") about topics the pack has
    # (`subjects`, topic ids) that no passage of it answers: "the pack has no dosing for X".
    intent: str = ""
    subjects: tuple[str, ...] = ()
    said: tuple[str, ...] = ()  # how the question named them, for the reply


@dataclass(frozen=True, slots=True)
class _Word:
    """A content word of the question, with what the scoring needs of it, worked out once."""

    token: Token
    weight: float
    named: tuple[tuple[frozenset[Ref], bool], ...]  # (refs, exact) of the mentions covering it
    terms: tuple[tuple[str, float, bool], ...]  # (index term, exactness, rare) it expands to


@dataclass(slots=True)
class _Scored:
    key: Key
    explained: float = 0.0
    anchored: bool = False
    bonus: float = 0.0
    bm25: float = 0.0
    covers_subject: bool = False


class Asker:
    """Answers questions from one catalog; built once per catalog (see `asker_for`)."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.synonyms = Synonyms((s.term, s.variants) for s in getattr(catalog.pack, "synonyms", ()))
        self.names = NameIndex(catalog, self.synonyms)
        self._vocabularies: tuple | None = None  # the grading scales' words, for free-text findings
        self._doc_of: dict[Key, int] | None = None
        self._key_of: dict[str, Key] | None = None
        self._bags: dict[Key, frozenset[str]] = {}
        self._words: dict[tuple[Key, bool], list[str]] = {}

    # ------------------------------------------------------------------ passages

    @property
    def index(self) -> SearchIndex:
        return self.catalog.search_index

    def _documents(self) -> tuple[dict[Key, int], dict[str, Key]]:
        """Passage keys <-> search documents, from the catalog's own documents (built once)."""
        if self._doc_of is None or self._key_of is None:
            doc_of: dict[Key, int] = {}
            key_of: dict[str, Key] = {}
            for i, doc in enumerate(self.index.documents):
                key = self._parse(doc.command)
                if key is not None:
                    doc_of.setdefault(key, i)
                    key_of[doc.command] = key
            self._doc_of, self._key_of = doc_of, key_of
        return self._doc_of, self._key_of

    def _parse(self, command: str) -> Key | None:
        words = command.split()
        if words[:1] == ["topic"] and len(words) == 2:
            return ("topic", words[1])
        if words[:1] == ["topic"] and len(words) == 3:
            return ("section", words[1], words[2])
        if words[:1] == ["fact"] and len(words) == 2:
            return ("fact", words[1])
        if words[:1] == ["compare"] and len(words) == 4:
            comparison = self.catalog.comparison_between(words[1], words[2])
            return ("aspect", comparison.id, words[3]) if comparison else None
        return None

    def passage(self, key: Key, order: tuple[str, str] | None = None) -> Passage:
        kind = key[0]
        if kind == "topic":
            return Passage(key, "topic", (("query", key[1]),), f"topic {key[1]}")
        if kind == "section":
            return Passage(key, "topic", (("query", f"{key[1]} {key[2]}"),), f"topic {key[1]} {key[2]}")
        if kind == "fact":
            return Passage(key, "fact", (("which", key[1]),), f"fact {key[1]}")
        c = self.catalog.comparisons[key[1]]
        left, right = order if order and set(order) == {c.left, c.right} else (c.left, c.right)
        if kind == "comparison":
            return Passage(key, "compare", (("left", left), ("right", right)), f"compare {left} {right}")
        return Passage(key, "compare", (("left", left), ("right", right), ("aspect", key[2])),
                       f"compare {left} {right} {key[2]}")

    def _names_of(self, key: Key) -> set[Ref]:
        """What a mention must name for the passage to count as named by it."""
        kind = key[0]
        cat = self.catalog
        if kind == "topic":
            return {("topic", key[1]), *(("tag", t) for t in cat.topics[key[1]].tags)}
        if kind == "section":
            return {("topic", key[1]), ("section", key[1], key[2])}
        if kind == "fact":
            return {("tag", t) for t in cat.facts[key[1]].tags}
        c = cat.comparisons[key[1]]
        refs: set[Ref] = {("comparison", c.id), ("topic", c.left), ("topic", c.right)}
        if kind == "aspect":
            refs.add(("aspect", c.id, key[2]))
        return refs

    def _text_of(self, key: Key, *, body: bool = False) -> str:
        """A passage's text; `body`: without the titles that head aspect rows."""
        kind, cat = key[0], self.catalog
        if kind == "topic":
            return cat.topics[key[1]].summary
        if kind == "section":
            return next(s.body for s in cat.topics[key[1]].sections if s.id == key[2])
        if kind == "fact":
            return cat.facts[key[1]].text
        c = cat.comparisons[key[1]]
        if kind == "comparison":
            return c.summary or "" if body else " ".join(f"{a.title} {a.left} {a.right}" for a in c.aspects)
        a = next(a for a in c.aspects if a.id == key[2])
        return f"{a.left} {a.right}" if body else f"{a.title} {a.left} {a.right}"

    def _bag(self, key: Key) -> frozenset[str]:
        """Stems of a passage's title, text and hidden names (its search document), on demand."""
        bag = self._bags.get(key)
        if bag is None:
            doc_of, _ = self._documents()
            if key in doc_of:
                bag = self.index.terms_of(doc_of[key])
            else:
                c = self.catalog.comparisons[key[1]]
                bag = frozenset(t.stem for t in tokenize(f"{c.title} {' '.join(c.aliases)} {self._text_of(key)}"))
            if len(self._bags) >= CACHED_PASSAGES:
                self._bags.clear()
            self._bags[key] = bag
        return bag

    # ------------------------------------------------------------------ answering

    def offer(self, question: str) -> Offer | None:
        """The `grade` answers a message gives ("fever 39 on norepinephrine, what grade"), never a grade."""
        if self._vocabularies is None:
            self._vocabularies = vocabularies(list(getattr(self.catalog, "scales", {}).values()))
        return read_answers(self._vocabularies, self.synonyms, question) if self._vocabularies else None

    def ask(self, question: str) -> Outcome:
        tokens = tokenize(question)
        talk = small_talk(tokens)
        if talk is not None:
            return Outcome(talk)
        tokens = self.synonyms.rewrite(strip_greeting(tokens))
        outcome = self._answer(tokens)
        return self._check_intent(tokens, outcome)

    def _check_intent(self, tokens: list[Token], outcome: Outcome) -> Outcome:
        """A management question ("siltuximab dose") is answered only by a passage about that
        management: named for it, or, for dosing, stating an amount. Else the topic's own such
        passage, asked for alone ("tocilizumab dose" in "tocilizumab dose for a child"); else,
        when the question names a topic, the reply says the pack lacks it ("the pack has no
        dosing for siltuximab") rather than showing a card that defines the drug."""
        intents = [(i, INTENTS[t.word]) for i, t in enumerate(tokens) if t.word in INTENTS]
        if not intents or outcome.kind not in ("answer", "not_covered"):
            return outcome
        at, intent = intents[0]

        def about(found: Outcome) -> bool:
            if found.kind != "answer" or found.best is None:
                return False
            key = found.best.key
            named = {r for m in self.names.mentions(tokens_of[found], ()) if m.covers(at_of[found]) for r in m.refs}
            return bool(named & self._names_of(key)) or (
                intent == "dosing" and DOSE_FIGURE.search(self._text_of(key, body=True)) is not None)

        tokens_of, at_of = {outcome: tokens}, {outcome: at}
        if about(outcome):
            return outcome
        mentions = self.names.mentions(tokens, shape_of(tokens).frame)
        named = [m for m in mentions if m.exact and any(r[0] == "topic" for r in m.refs)]
        for m in sorted(named, key=lambda m: (not m.covers(at), m.start)):
            words = list(tokens[m.start : m.end]) if m.covers(at) else [*tokens[m.start : m.end], tokens[at]]
            found = self._answer(words)
            tokens_of[found], at_of[found] = words, (at - m.start if m.covers(at) else len(words) - 1)
            if about(found):
                return found
        subjects = [(m, r[1]) for m in named if not m.covers(at) for r in m.refs if r[0] == "topic"]
        if not subjects:
            return outcome
        said = tuple(dict.fromkeys(" ".join(t.word for t in tokens[m.start : m.end]) for m, _ in subjects))
        return Outcome("lacking", confidence=outcome.confidence, closest=outcome.closest, intent=intent,
                       subjects=tuple(dict.fromkeys(t for _, t in subjects)), said=said)

    def _answer(self, tokens: list[Token]) -> Outcome:
        shape = shape_of(tokens)
        subject = [i for i, t in enumerate(tokens) if not t.filler and i not in shape.frame]
        cues = [i for i, t in enumerate(tokens) if i not in shape.frame and self.names.cue(t.word)]
        if not subject:
            if shape.kind is Kind.COMPARE and self.catalog.default_comparison is not None:
                return Outcome("answer", self.passage(("comparison", self.catalog.default_comparison.id)), 1.0)
            return Outcome("empty")
        mentions = [m for m in self.names.mentions(tokens, shape.frame) if any(m.covers(i) for i in (*subject, *cues))]
        weights = {i: self._weight(tokens[i]) for i in subject}
        for m in mentions:
            if m.exact and any(r[0] == "topic" for r in m.refs):
                for i in range(m.start, m.end):
                    if i in weights:
                        weights[i] = max(weights[i], SUBJECT_WEIGHT)
        # A question word the pack names ("when") steers towards that section, but it is never
        # the subject: it only joins the words a passage should explain, with a small weight.
        for i in cues:
            weights[i] = CUE_WEIGHT
        content = sorted(weights)
        topics = _topics_in_order(mentions)
        if shape.kind is Kind.COMPARE:
            found = self._comparison(mentions, topics, tokens, subject, weights)
            if found is not None:
                return found
        single = _single_mention(mentions, subject)
        define = shape.kind is Kind.DEFINE and (not shape.weak or single is not None)
        if single is not None and not define and shape.kind is not Kind.COMPARE:
            define = any(r[0] == "topic" for r in single.refs)  # a bare topic name: the topic
        hits = self.index.search(" ".join(tokens[i].word for i in subject), limit=SEARCH_CANDIDATES, snippets=False)
        _, key_of = self._documents()
        scored: dict[Key, _Scored] = {}
        for key in self._candidates(mentions):
            scored[key] = _Scored(key)
        for hit in hits:
            key = key_of.get(hit.document.command)
            if key is not None:
                scored.setdefault(key, _Scored(key)).bm25 = hit.score
        words = [
            _Word(tokens[i], weights[i], tuple((frozenset(m.refs), m.exact) for m in mentions if m.covers(i)),
                  tuple((t, e, self.index.idf(t) >= RARE) for t, e in self.index.expand(tokens[i].word)))
            for i in content
        ]
        all_named = all(any(m.exact and m.covers(i) for m in mentions) for i in subject)
        said = [tokens[i] for i in subject]
        for s in scored.values():
            self._score(s, words, define, all_named, said)
            self._adjust(s, topics, single, define, said)
        total = sum(weights.values())
        # On a tie, a passage of a topic the question names, then the more specific kind, then BM25.
        ranked = sorted(scored.values(), key=lambda s: (-round(s.explained / total + s.bonus, 6),
                                                         s.key[0] == "fact" or s.key[1] not in topics,
                                                         KIND_ORDER[s.key[0]], -s.bm25))
        closest = tuple(dict.fromkeys(h.document.command for h in hits[:ALTERNATIVES]))
        if not ranked:
            return Outcome("not_covered", closest=closest)
        best = ranked[0]
        confidence = best.explained / total
        confident = confidence >= CONFIDENT and best.anchored and (not define or best.covers_subject)
        if not confident:
            return Outcome("not_covered", confidence=confidence, closest=closest or (self.passage(best.key).line,))
        alternatives = tuple(self.passage(s.key) for s in ranked[1:] if s.explained / total >= CONFIDENT * 0.8)
        return Outcome("answer", self.passage(best.key), confidence, alternatives[:ALTERNATIVES])

    def _weight(self, token: Token) -> float:
        """How telling a word is: the idf of what it stands for in the pack (its own stem, or the
        prefix or typo fix it was read as), or UNKNOWN_WEIGHT when the pack has nothing like it."""
        expansions = self.index.expand(token.word)
        if not expansions:
            return UNKNOWN_WEIGHT
        idf = min(self.index.idf(term) for term, _ in expansions)
        return min(MAX_WEIGHT, max(MIN_WEIGHT, idf))

    def _candidates(self, mentions: Sequence[Mention]) -> list[Key]:
        out: list[Key] = []
        for m in mentions:
            if len(m.refs) > CROWDED:
                continue
            for ref in m.refs:
                if ref[0] == "tag":
                    facts = self.names.tagged.get(ref[1], ())
                    if len(facts) <= CROWDED:
                        out += [("fact", f) for f in facts]
                else:
                    out.append(ref)
        return list(dict.fromkeys(out))

    def _score(self, s: _Scored, words: Sequence[_Word], define: bool, all_named: bool,
               subject: Sequence[Token]) -> None:
        names = self._names_of(s.key)
        bag = self._bag(s.key)
        for w in words:
            best = 0.0
            for refs, exact in w.named:
                named = names.intersection(refs)
                if named:
                    strength = TAG if all(r[0] == "tag" for r in named) else 1.0
                    best = max(best, strength if exact else min(strength, PREFIX_NAME))
            if best >= TAG:
                s.anchored = True
            if best < 1.0:
                for term, exactness, rare in w.terms:
                    if term in bag:
                        best = max(best, TEXT * exactness)
                        if exactness == EXACT and rare:
                            s.anchored = True
            s.explained += w.weight * best
        if define:
            # The subject is something the pack names (every word part of a name, and this passage
            # named by one), or this passage says it in so many words.
            s.covers_subject = (all_named and s.anchored) or self._says(s.key, subject)

    def _keys_of(self, key: Key, *, body: bool = False) -> list[str]:
        """The matching keys of a passage's words, filler skipped (kept for the passages asked about)."""
        found = self._words.get((key, body))
        if found is None:
            if len(self._words) >= CACHED_PASSAGES:
                self._words.clear()
            found = self._words[(key, body)] = [t.key for t in tokenize(self._text_of(key, body=body)) if not t.filler]
        return found

    def _says(self, key: Key, subject: Sequence[Token]) -> bool:
        """Whether the passage's text holds the subject as a run of words (filler skipped)."""
        text = self._keys_of(key)
        want = [t.key for t in subject]
        n = len(want)
        return any(text[i : i + n] == want for i in range(len(text) - n + 1))

    def _adjust(self, s: _Scored, topics: Sequence[str], single: Mention | None, define: bool,
                subject: Sequence[Token]) -> None:
        kind = s.key[0]
        if define:
            if kind == "topic" and single is not None and ("topic", s.key[1]) in single.refs:
                s.bonus += SUMMARY_BONUS
            want = [t.key for t in subject]
            start = self._keys_of(s.key, body=True)[: len(want)]
            if start == want:
                s.bonus += START_BONUS
                s.covers_subject = True
        elif single is not None and s.key in single.refs:
            s.bonus += NAMED_BONUS
        if kind in ("aspect", "comparison"):
            c = self.catalog.comparisons[s.key[1]]
            named = {c.left, c.right}.intersection(topics)
            if len(named) == 1:
                s.bonus -= HALF_PAIR
            elif not named and self.catalog.default_comparison is c:
                s.bonus += MAIN_VIEW

    def _comparison(self, mentions: Sequence[Mention], topics: Sequence[str], tokens: Sequence[Token],
                    content: Sequence[int], weights: dict[int, float]) -> Outcome | None:
        """A comparison question naming topics the pack compares: that comparison, or its named aspect."""
        cat = self.catalog
        comparison = None
        order: tuple[str, str] | None = None
        for i, a in enumerate(topics):
            for b in topics[i + 1 :]:
                comparison = cat.comparison_between(a, b)
                if comparison is not None:
                    order = (a, b)
                    break
            if comparison is not None:
                break
        if comparison is None:  # a comparison's own name, such as "crs vs storm"
            for m in mentions:
                named = [r[1] for r in m.refs if r[0] == "comparison"]
                if named and sum(1 for i in content if m.covers(i)) >= 2:
                    comparison = cat.comparisons[named[0]]
                    order = (comparison.left, comparison.right)
                    break
        if comparison is None:
            named = [r[1] for m in mentions for r in m.refs if r[0] == "comparison"]
            pool = [cat.comparisons[c] for c in dict.fromkeys(named)]
            if cat.default_comparison is not None:
                pool.append(cat.default_comparison)
            comparison = next((c for c in pool if topics and topics[0] in (c.left, c.right)), None)
            if comparison is None:
                return None
            other = comparison.right if topics[0] == comparison.left else comparison.left
            order = (topics[0], other)
        # The aspect: named by words that are not part of a topic's name.
        in_topics = {i for m in mentions if any(r[0] == "topic" for r in m.refs) for i in range(m.start, m.end)}
        aspects: dict[str, float] = {}
        for m in mentions:
            if any(m.covers(i) for i in in_topics):
                continue
            for ref in m.refs:
                if ref[0] == "aspect" and ref[1] == comparison.id:
                    span = sum(weights.get(i, 0.0) for i in range(m.start, m.end))
                    aspects[ref[2]] = max(aspects.get(ref[2], 0.0), span + (0.01 if m.exact else 0.0))
        if aspects:
            aspect = max(aspects, key=aspects.__getitem__)
            best = self.passage(("aspect", comparison.id, aspect), order)
            alternatives = (self.passage(("comparison", comparison.id), order),)
        else:
            best = self.passage(("comparison", comparison.id), order)
            alternatives = ()
        return Outcome("answer", best, 1.0, alternatives)


def _topics_in_order(mentions: Sequence[Mention]) -> list[str]:
    """Topics the question names, in the order it names them (longest name at a place wins)."""
    seen: list[str] = []
    for m in sorted(mentions, key=lambda m: (m.start, -(m.end - m.start))):
        for ref in m.refs:
            if ref[0] == "topic" and ref[1] not in seen and m.exact:
                seen.append(ref[1])
    return seen


def _single_mention(mentions: Sequence[Mention], content: Sequence[int]) -> Mention | None:
    """The one exact mention that spans every content word, if there is one ("crs", "ICE score")."""
    want = set(content)
    for m in sorted(mentions, key=lambda m: m.start - m.end):
        if m.exact and want <= set(range(m.start, m.end)):
            return m
    return None

