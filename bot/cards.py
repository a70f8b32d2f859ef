"""Builders of neutral cards from pack content. Platform-free: renderers do the rest."""

from __future__ import annotations

from collections.abc import Iterable

from .catalog import Catalog
from .normalize import shorten
from .reply import Card, CardKind, Field, Footer, SourceRef, Table
from .schema import Note

SOURCE_LABEL = 70


class CardMaker:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def footer(self, source_ids: Iterable[str] = ()) -> Footer:
        refs: list[SourceRef] = []
        for sid in dict.fromkeys(source_ids):
            source = self.catalog.sources.get(sid)
            if source is not None:
                refs.append(SourceRef(source.id, shorten(source.title, SOURCE_LABEL), source.url))
        return Footer(self.catalog.info.disclaimer, tuple(refs))

    def card(
        self,
        title: str,
        *,
        body: str = "",
        fields: Iterable[Field] = (),
        table: Table | None = None,
        kind: CardKind,
        sources: Iterable[str] = (),
        subtitle: str = "",
    ) -> Card:
        return Card(
            title=title,
            body=body,
            fields=tuple(fields),
            table=table,
            kind=kind,
            subtitle=subtitle,
            footer=self.footer(sources),
        )

    @staticmethod
    def note_fields(notes: Iterable[Note]) -> list[Field]:
        """Cited notes where the seed article is imprecise: shown with their citation keys."""
        return [Field(f"Note [{', '.join(n.sources)}]", n.text) for n in notes]


def note_sources(notes: Iterable[Note]) -> list[str]:
    return [s for n in notes for s in n.sources]
