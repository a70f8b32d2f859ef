"""Builders of neutral cards from pack content. Platform-free: renderers do the rest.

The footer of every card is derived here, in one place: the sources of the entities the card
shows, plus every source cited in its text (title, body, fields, table). Commands say what
they show; they never hand-list a footer.
"""

from __future__ import annotations

from collections.abc import Iterable

from .catalog import Catalog
from .citations import cited_keys, note_sources, sources_of
from .normalize import shorten
from .reply import Card, CardKind, Field, Footer, SourceRef, Table
from .schema import Note, Source

SOURCE_LABEL = 80  # the seed article's own heading is 74 characters
__all__ = ["CardMaker", "note_sources"]  # note_sources: kept here for the commands that import it from cards


class CardMaker:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def footer(self, source_ids: Iterable[str] = ()) -> Footer:
        refs: list[SourceRef] = []
        labels: list[Source] = []
        for sid in dict.fromkeys(source_ids):
            source = self.catalog.sources.get(sid)
            if source is not None:
                refs.append(SourceRef(source.id, shorten(source.title, SOURCE_LABEL), source.url))
                if is_label(source):
                    labels.append(source)
        return Footer(currency(self.catalog, labels) + self.catalog.info.disclaimer, tuple(refs))

    def card(
        self,
        title: str,
        *,
        body: str = "",
        fields: Iterable[Field] = (),
        table: Table | None = None,
        kind: CardKind,
        sources: Iterable[object] = (),
        subtitle: str = "",
    ) -> Card:
        """`sources`: what the card shows (topics, sections, aspects, facts, notes, search
        documents) or plain source ids; the footer lists their sources and every citation
        found in the card's own text."""
        fields = tuple(fields)
        shown = [title, subtitle, body, *(part for f in fields for part in (f.name, f.value))]
        if table is not None:
            shown += [cell for row in (table.headers, *table.rows) for cell in row]
        ids = [sid for item in sources for sid in sources_of(item)]  # type: ignore[arg-type]
        ids += [key for text in shown for key in cited_keys(text)]
        return Card(
            title=title,
            body=body,
            fields=fields,
            table=table,
            kind=kind,
            subtitle=subtitle,
            footer=self.footer(ids),
        )

    @staticmethod
    def note_fields(notes: Iterable[Note]) -> list[Field]:
        """Cited notes where the seed article is imprecise: labelled with their citation keys."""
        return [Field(f"Note [{', '.join(n.sources)}]", n.text) for n in notes]


def is_label(source: Source) -> bool:
    """A prescribing information (label): marked `kind: label` or with a `revision`, or saying so."""
    said = f"{source.title} {source.citation}".casefold()
    return source.kind == "label" or source.revision is not None or "prescribing information" in said


def as_of_text(catalog: Catalog) -> str:
    """The pack's "as of" date, written out ("2 December 2026"), or "" when the pack has none."""
    as_of = getattr(catalog.info, "as_of", None)
    return f"{as_of.day} {as_of:%B %Y}" if as_of is not None else ""


def currency(catalog: Catalog, labels: Iterable[Source]) -> str:
    """The footer's first words on a card that quotes labels: the pack's date and each label's
    revision, for labels change after a pack is written. Empty without labels or a date."""
    labels = list(labels)
    when = as_of_text(catalog)
    if not labels or not when:
        return ""
    quoted = ", ".join(f"[{s.id}] {s.revision}" if s.revision else f"[{s.id}]" for s in labels)
    return f"Content as of {when}; it quotes labels that may have changed since ({quoted}): check the current label. "
