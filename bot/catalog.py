"""The pack made searchable: matchers for every kind of name, and the search index."""

from __future__ import annotations

from functools import cached_property

from .citations import Cited, sources_of
from .grading import Grader
from .loader import Pack
from .matcher import Matcher
from .schema import Aspect, Comparison, Fact, Scale, Section, Source, Topic
from .search import Document, SearchIndex


class Catalog:
    """Built from a pack; with `previous` (the catalog of an earlier load of the same pack, see
    `bot.loader.load_pack`), whatever belongs to topics that did not change is reused: their
    section matchers, their search documents and those documents' analysis in the index."""

    def __init__(self, pack: Pack, previous: Catalog | None = None):
        self.pack = pack
        self.info = pack.info
        self.topics: dict[str, Topic] = {t.id: t for t in pack.topics}
        self.comparisons: dict[str, Comparison] = {c.id: c for c in pack.comparisons}
        self.facts: dict[str, Fact] = {f.id: f for f in pack.facts}
        self.sources: dict[str, Source] = dict(pack.sources)
        self.topic_names: Matcher[Topic] = Matcher((t, t.id, (*t.aliases, t.title)) for t in pack.topics)
        self.comparison_names: Matcher[Comparison] = Matcher((c, c.id, (*c.aliases, c.title)) for c in pack.comparisons)
        self.fact_names: Matcher[Fact] = Matcher((f, f.id, ()) for f in pack.facts)
        self.source_names: Matcher[Source] = Matcher((s, s.id, (s.title,)) for s in pack.sources.values())
        self.scales: dict[str, Scale] = {s.id: s for s in pack.scales}
        self.scale_names: Matcher[Scale] = Matcher((s, s.id, (*s.aliases, s.name, s.title)) for s in pack.scales)
        self.graders: dict[str, Grader] = {s.id: Grader(s) for s in pack.scales}
        before = previous.topics if previous is not None else {}
        self._sections = {t.id: previous._sections[t.id] if before.get(t.id) is t else
                          Matcher((s, s.id, (*s.aliases, s.title)) for s in t.sections) for t in pack.topics}  # type: ignore[union-attr]
        self._previous: Catalog | None = previous
        self._aspects = {c.id: Matcher((a, a.id, (*a.aliases, a.title)) for a in c.aspects) for c in pack.comparisons}

    @property
    def default_comparison(self) -> Comparison | None:
        if self.info.default_comparison:
            return self.comparisons.get(self.info.default_comparison)
        return next(iter(self.comparisons.values()), None)

    def section_names(self, topic: Topic) -> Matcher[Section]:
        return self._sections[topic.id]

    def aspect_names(self, comparison: Comparison) -> Matcher[Aspect]:
        return self._aspects[comparison.id]

    def comparison_between(self, a: str, b: str) -> Comparison | None:
        for c in self.comparisons.values():
            if {c.left, c.right} == {a, b}:
                return c
        return None

    @cached_property
    def examples(self) -> dict[str, str]:
        """Names from this pack for help texts and hints, so the engine never assumes a subject."""
        comparison = self.default_comparison
        topic = self.topics[comparison.left] if comparison else next(iter(self.topics.values()), None)
        with_sections = topic if topic and topic.sections else next((t for t in self.topics.values() if t.sections), None)
        fact = next(iter(self.facts.values()), None)
        source = next(iter(self.sources.values()), None)
        scale = next(iter(self.scales.values()), None)
        return {
            "topic": (topic.aliases[0] if topic and topic.aliases else topic.id if topic else "<name>"),
            "section": f"{with_sections.id} {with_sections.sections[0].id}" if with_sections else "<name> <section>",
            "aspect": comparison.aspects[0].id if comparison else "<aspect>",
            "pair": f"{comparison.left} {comparison.right}" if comparison else "<left> <right>",
            "word": (fact.tags[0] if fact else topic.id if topic else "<word>"),
            "source": source.id if source else "<id>",
            "grading": f"{scale.id} {scale.example}" if scale else "<scale> <key>=<value>",
        }

    @cached_property
    def search_index(self) -> SearchIndex:
        """Built on first search, so one-shot commands such as `ask help` never pay for it.

        Each document carries the sources of what it holds, so a search card can cite them."""
        docs: list[Document] = []
        previous, self._previous = self._previous, None  # the old catalog is not kept alive by this one
        reuse = previous.__dict__.get("search_index") if previous is not None else None
        before = previous._topic_docs if previous is not None and reuse is not None else {}
        self._topic_docs: dict[str, tuple[Topic, tuple[Document, ...]]] = {}
        for t in self.topics.values():
            known = before.get(t.id)
            own = known[1] if known is not None and known[0] is t else _topic_documents(t)
            self._topic_docs[t.id] = (t, own)
            docs += own
        for c in self.comparisons.values():
            left, right = self.topics[c.left].title, self.topics[c.right].title
            for a in c.aspects:
                text = " ".join((f"{left}: {a.left}", f"{right}: {a.right}", *(n.text for n in a.notes)))
                docs.append(Document("aspect", f"{c.title}: {a.title}", text, f"compare {c.left} {c.right} {a.id}", " ".join(a.aliases), _cites(a, c)))
        for f in self.facts.values():
            text = " ".join((f.text, *(n.text for n in f.notes)))
            docs.append(Document("fact", f"Fact {f.id}", text, f"fact {f.id}", " ".join(f.tags), _cites(f)))
        return SearchIndex(docs, previous=reuse)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_previous"] = None
        return state


def _topic_documents(t: Topic) -> tuple[Document, ...]:
    docs = [Document("topic", t.title, t.summary, f"topic {t.id}", " ".join((*t.aliases, *t.tags)), _cites(t))]
    for s in t.sections:
        text = " ".join((s.body, *(n.text for n in s.notes)))
        docs.append(Document("section", f"{t.title}: {s.title}", text, f"topic {t.id} {s.id}", " ".join(s.aliases), _cites(s, t)))
    return tuple(docs)


def _cites(item: Cited, parent: Topic | Comparison | None = None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(sources_of(item, parent)))
