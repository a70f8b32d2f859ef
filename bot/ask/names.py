"""Where a question names something the pack names: topics, comparisons, sections, aspects, tags.

A mention is a run of the question's words (filler words skipped) whose keys equal a name of
the pack, also with filler skipped: "what are the symptoms of CRS" mentions the CRS topic and
the sections called "symptoms". A passage is "named" by a mention when the mention names it or
what it belongs to; the answerer counts words explained that way above words it only finds in
a passage's text. Single words also match a longer name word they begin ("treat" ->
"treatment"), so inflected questions still find a section.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from ..catalog import Catalog
from .words import Synonyms, Token, keys, tokenize

MAX_NAME_WORDS = 6
PREFIX_MIN = 5  # a question word this long may stand for a name word it begins
PREFIX_SLACK = 4  # ... if that name word is at most this much longer ("treat" -> "treatment")
CROWDED = 50  # a key naming more things than this is too common to enumerate them as candidates
ARTICLES = frozenset({"a", "an", "the"})
# Question words a pack may use as aliases ("when" for a section on timing): they name what the
# pack says they name, and nothing in a pack that does not.
CUE_WORDS = frozenset({"when", "where", "who", "why", "how"})

# A reference to something a name can point to, as a tuple:
#   ("topic", tid) ("section", tid, sid) ("comparison", cid) ("aspect", cid, aid) ("tag", tag)
Ref = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Mention:
    """Question words `start`..`end` (indexes into the question's tokens) name `refs`."""

    start: int
    end: int
    refs: tuple[Ref, ...]
    exact: bool = True  # False when a word only begins a name word

    def covers(self, index: int) -> bool:
        return self.start <= index < self.end


def _strip_parenthesis(title: str) -> list[str]:
    """ "Interleukin-6 (IL-6)" is also called "Interleukin-6" and "IL-6"."""
    if "(" in title and title.endswith(")"):
        head, _, tail = title[:-1].partition("(")
        return [head.strip(), tail.strip()]
    return []


class NameIndex:
    """Every name of the pack by its keys, built once per catalog."""

    def __init__(self, catalog: Catalog, synonyms: Synonyms | None = None):
        # Ordered sets (dicts of None): a name shared by thousands of things stays linear to build.
        by_key: dict[tuple[str, ...], dict[Ref, None]] = defaultdict(dict)
        phrases: dict[tuple[str, ...], dict[Ref, None]] = defaultdict(dict)

        def add(ref: Ref, names: Iterable[str]) -> None:
            for name in names:
                for variant in (name, *_strip_parenthesis(name)):
                    # A question is read through the pack's synonyms ("dose" -> "dosing"), so a
                    # name is also known as it reads through them: an alias "tocilizumab dose"
                    # still names its topic once the question says "tocilizumab dosing".
                    plain = tokenize(variant)
                    rewritten = synonyms.rewrite(plain) if synonyms is not None else plain
                    for words in ((plain,) if rewritten == plain else (plain, rewritten)):
                        add_words(ref, words)

        def add_words(ref: Ref, words: list[Token]) -> None:
            while words and words[0].word in ARTICLES:
                words = words[1:]
            if words and words[0].filler:
                # "who treats", "how it works", "use in CRS": phrases, matched word for word,
                # never as the name their last words would make on their own.
                key = tuple(w.key for w in words)
                if len(key) <= MAX_NAME_WORDS:
                    phrases[key][ref] = None
                return
            key = keys(words)
            if 0 < len(key) <= MAX_NAME_WORDS:
                by_key[key][ref] = None

        for t in catalog.topics.values():
            add(("topic", t.id), (t.id, t.title, *t.aliases))
            for s in t.sections:
                add(("section", t.id, s.id), (s.id, s.title, *s.aliases))
        for c in catalog.comparisons.values():
            add(("comparison", c.id), (c.id, c.title, *c.aliases))
            for a in c.aspects:
                add(("aspect", c.id, a.id), (a.id, a.title, *a.aliases))
        for f in catalog.facts.values():
            for tag in f.tags:
                add(("tag", tag), (tag,))
        self._by_key = {k: tuple(v) for k, v in by_key.items()}
        # The same names with their words run together, for "IL6", "TNFa", "interleukin6".
        joined: dict[str, dict[Ref, None]] = defaultdict(dict)
        for k, v in self._by_key.items():
            joined["".join(k)].update(dict.fromkeys(v))
        self._joined = {k: tuple(v) for k, v in joined.items()}
        self._phrases = {k: tuple(v) for k, v in phrases.items()}
        self._singles = sorted(k[0] for k in self._by_key if len(k) == 1)
        self.tagged: dict[str, tuple[str, ...]] = {}
        tagged: dict[str, list[str]] = defaultdict(list)
        for f in catalog.facts.values():
            for tag in f.tags:
                tagged[tag].append(f.id)
        self.tagged = {tag: tuple(ids) for tag, ids in tagged.items()}

    def refs(self, key: tuple[str, ...]) -> tuple[Ref, ...]:
        return self._by_key.get(key, ())

    def cue(self, word: str) -> bool:
        """Whether the pack uses this question word as a name ("when": a section on timing)."""
        return word in CUE_WORDS and (word,) in self._phrases

    def mentions(self, tokens: Sequence[Token], frame: Collection[int] = ()) -> list[Mention]:
        """Runs of non-filler words that name something. A run inside a longer one is dropped
        ("IL-6" inside "IL-6 receptor", "storm" inside "cytokine storm"): the longer name is
        what the question means. Runs that only overlap are both kept ("crs grade" / "grade 4")."""

        positions = [i for i, t in enumerate(tokens) if not t.filler]
        runs: list[tuple[int, int, tuple[Ref, ...]]] = []  # spans in token positions
        gapped: set[tuple[int, int]] = set()  # runs that skip filler words inside them
        for a in range(len(positions)):
            for n in range(min(MAX_NAME_WORDS, len(positions) - a), 0, -1):
                run = positions[a : a + n]
                key = tuple(tokens[i].key for i in run)
                refs = self._by_key.get(key) or self._joined.get("".join(key))
                if refs:
                    runs.append((run[0], run[-1] + 1, refs))
                    if run[-1] - run[0] + 1 > n:
                        gapped.add((run[0], run[-1] + 1))
        if self._phrases:
            for a in range(len(tokens)):
                for n in range(min(MAX_NAME_WORDS, len(tokens) - a), 0, -1):
                    if n == 1 and tokens[a].word not in CUE_WORDS:
                        continue  # one filler word names nothing, except a question word the pack names
                    refs = self._phrases.get(tuple(t.key for t in tokens[a : a + n]))
                    if refs and not any(i in frame for i in range(a, a + n)):
                        runs.append((a, a + n, refs))
        # A comparison's name never hides the topics in it ("crs and cytokine storm"), nor does a
        # run across filler words ("severity [between] crs" is not the name "severe crs").
        hiding = [(c, d, _content(tokens, c, d)) for c, d, refs in runs
                  if any(r[0] != "comparison" for r in refs) and (c, d) not in gapped]
        found = [
            Mention(a, b, refs)
            for a, b, refs in runs
            if not any(c <= a and b <= d and n > _content(tokens, a, b) for c, d, n in hiding)
        ]
        # A word may also begin a longer name word ("treat" -> "treatment", "predict" -> "predictor").
        for i in positions:
            if len(tokens[i].key) < PREFIX_MIN:
                continue
            exact = {r for m in found if m.start == i and m.end == i + 1 for r in m.refs}
            refs = tuple(r for r in self._prefixed(tokens[i].key) if r not in exact)
            if refs:
                found.append(Mention(i, i + 1, refs, exact=False))
        return found

    def _prefixed(self, key: str) -> tuple[Ref, ...]:
        start = bisect_left(self._singles, key)
        refs: list[Ref] = []
        for name in self._singles[start : start + 20]:
            if not name.startswith(key):
                break
            if 0 < len(name) - len(key) <= PREFIX_SLACK:
                refs += self._by_key[(name,)]
        return tuple(dict.fromkeys(refs))


def _content(tokens: Sequence[Token], start: int, end: int) -> int:
    """How many non-filler words a span holds: what makes one name longer than another."""
    return sum(1 for t in tokens[start:end] if not t.filler)
