"""The neutral reply model: the only thing adapters render.

The core builds replies out of cards; every platform renders them its own way and always
keeps a plain-text fallback. Nothing here knows about Slack, Discord or terminals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


class Visibility(str, Enum):
    """Who sees a reply: only the person who asked, or the whole channel."""

    PRIVATE = "private"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A source cited by a card, as shown in its footer."""

    id: str
    label: str
    url: str | None = None

    @property
    def display(self) -> str:
        """"[lee19] ASTCT consensus grading…": the key the card's text cites, then the title."""
        return f"[{self.id}] {self.label}"


@dataclass(frozen=True, slots=True)
class Footer:
    """Every card carries the pack's disclaimer and the sources it drew on."""

    disclaimer: str
    sources: tuple[SourceRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Field:
    """A named value; `inline` hints that renderers may lay fields side by side."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A comparison table: a header row and rows of equal length (first cell = row label)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


class CardKind(str, Enum):
    TOPIC = "topic"
    COMPARISON = "comparison"
    SEARCH = "search"
    FACT = "fact"
    GRADE = "grade"
    LIST = "list"
    SOURCES = "sources"
    HELP = "help"
    ABOUT = "about"
    DAILY = "daily"  # daily-fact settings and status
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Card:
    """One card: title, plain-text body, fields, an optional table, and the footer."""

    title: str
    footer: Footer
    body: str = ""
    fields: tuple[Field, ...] = ()
    table: Table | None = None
    kind: CardKind = CardKind.TOPIC
    subtitle: str = ""

    def plain_text(self) -> str:
        """The card as plain text: the fallback every renderer can fall back to."""
        parts = [self.title]
        if self.subtitle:
            parts.append(self.subtitle)
        if self.body:
            parts.append(self.body)
        for f in self.fields:
            parts.append(f"{f.name}: {f.value}")
        if self.table is not None:
            parts.append(" | ".join(self.table.headers))
            parts.extend(" | ".join(row) for row in self.table.rows)
        if self.footer.sources:
            parts.append("Sources: " + "; ".join(s.display for s in self.footer.sources))
        parts.append(self.footer.disclaimer)
        return "\n".join(parts)


class ActionKind(str, Enum):
    SHARE = "share"


@dataclass(frozen=True, slots=True)
class Action:
    """A button under the reply. `command` is the canonical command line that reproduces
    the reply, so an adapter can re-run it statelessly (any replica can serve the click)."""

    kind: ActionKind
    label: str
    command: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the core answers to one request."""

    cards: tuple[Card, ...]
    visibility: Visibility = Visibility.PRIVATE
    actions: tuple[Action, ...] = ()
    is_error: bool = False
    # The canonical command that produced this reply (empty for errors), e.g. "compare crs cytokine-storm severity".
    command: str = ""
    # One line the reader should see before the cards, e.g. how a mistyped command was read.
    notice: str = ""

    @property
    def text(self) -> str:
        """Plain-text fallback for the whole reply (notifications, screen readers, logs)."""
        cards = "\n\n".join(card.plain_text() for card in self.cards)
        return f"{self.notice}\n\n{cards}" if self.notice else cards

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["text"] = self.text
        return _plain(data)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
