"""What pack content cites: in-text citation keys and the sources an entity declares.

A pack cites in one style: source ids in square brackets, several separated by commas, e.g.
"[lee19]" or "[ham24, ceschi20]". Card footers are derived from this module (see
`bot.cards`), so a card can never show a citation its footer does not list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .schema import Aspect, Comparison, Fact, Note, Section, Topic

_KEY = r"[a-z0-9][a-z0-9-]*"
# "[lee19]" or "[ham24, ceschi20]": the one in-text citation style.
CITATION = re.compile(rf"\[({_KEY}(?:, {_KEY})*)\]")


def cited_keys(text: str) -> list[str]:
    """Source ids cited in `text`, in order of first appearance."""
    keys = (key for m in CITATION.finditer(text) for key in m.group(1).split(", "))
    return list(dict.fromkeys(keys))


def note_sources(notes: Iterable[Note]) -> list[str]:
    return [s for n in notes for s in n.sources]


Cited = Topic | Section | Aspect | Comparison | Fact | Note


def sources_of(item: Cited | str, parent: Topic | Comparison | None = None) -> list[str]:
    """The sources an entity's card draws on: what it declares plus what its notes cite.

    A section or aspect that declares no sources draws on its `parent`'s. A topic or
    comparison contributes only its own sources (its sections' and aspects' are added by
    whoever shows them); a source id stands for itself.
    """
    if isinstance(item, str):
        return [item]
    if isinstance(item, Note):
        return list(item.sources)
    if isinstance(item, Fact):
        return [item.source, *note_sources(item.notes)]
    if isinstance(item, (Section, Aspect)):
        own = item.sources or (parent.sources if parent is not None else ())
        return [*own, *note_sources(item.notes)]
    if isinstance(item, (Topic, Comparison)):
        return list(item.sources)
    # Anything else that knows its sources (e.g. a search document).
    return list(getattr(item, "sources", ()))
