"""Render neutral replies for a terminal: rich panels on a terminal, plain lines otherwise.

Plain output (a pipe, a file, `cytobot ask ... | grep`) has no box drawing and keeps each table
row on one line. Neither form shows a share button: the console cannot post anywhere.

Every string is handed to rich as `Text`, never as markup, so pack or user text such as
`[/]` or `[bold]` prints literally instead of crashing the console; and control characters
are shown as escapes (`\\x1b`) in both forms, so text can never drive the terminal (clear the
screen, set the window title). The loader already refuses such packs; this keeps the console
safe whatever reaches it.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from bot.normalize import shorten
from bot.reading import printable
from bot.reply import Card, CardKind, Reply

STYLE = {CardKind.ERROR: "red", CardKind.HELP: "cyan", CardKind.FACT: "magenta", CardKind.DAILY: "magenta", CardKind.COMPARISON: "green"}
TITLE_MARGIN = 6  # the panel's corners, the rule before the title and the spaces around it


def _text(value: str, style: str | None = None) -> Text:
    """Literal text: no markup, no emoji codes, no control characters."""
    return Text(printable(value), style=style or "")


class CardPanel:
    """A card as a panel whose title is cut to the terminal's width at a word, with "…"
    (rich would crop it mid-word without one)."""

    def __init__(self, card: Card):
        self.card = card

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        card = self.card
        parts: list[RenderableType] = []
        if card.subtitle:
            parts.append(_text(card.subtitle, "dim"))
        if card.body:
            parts.append(_text(card.body))
        if card.table is not None:
            table = RichTable(show_lines=True, expand=True)
            for i, header in enumerate(card.table.headers):
                table.add_column(_text(header), style="bold" if i == 0 else None, ratio=1 if i == 0 else 2)
            for row in card.table.rows:
                table.add_row(*(_text(cell) for cell in row))
            parts.append(table)
        for field in card.fields:
            parts.append(Text.assemble(_text(field.name, "bold"), "\n", _text(field.value)))
        footer = _text(card.footer.disclaimer, "dim italic")
        if card.footer.sources:
            refs = "; ".join(s.display for s in card.footer.sources)
            footer = Text.assemble(_text("Sources: " + refs + "\n", "dim"), footer)
        parts.append(footer)
        title = shorten(printable(card.title), max(8, options.max_width - TITLE_MARGIN))
        yield Panel(Group(*parts), title=Text(title, style="bold"), title_align="left",
                    border_style=STYLE.get(card.kind, "blue"))


def render_card(card: Card) -> CardPanel:
    return CardPanel(card)


def render_reply(reply: Reply) -> Group:
    parts: list[RenderableType] = []
    if reply.notice:
        parts.append(_text(reply.notice, "dim"))
    parts += [render_card(c) for c in reply.cards]
    return Group(*parts)


def render_plain(reply: Reply) -> str:
    """The reply as plain lines: title, text, fields as `name: value`, one table row per line
    (cells joined by " | "), sources and disclaimer; cards separated by a blank line."""
    return printable(reply.text)
