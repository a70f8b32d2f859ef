"""Render neutral replies as rich terminal panels and tables.

Every string is handed to rich as `Text`, never as markup, so pack or user text such as
`[/]` or `[bold]` prints literally instead of crashing the console; and control characters
are shown as escapes (`\\x1b`), so text can never drive the terminal (clear the screen, set
the window title). The loader already refuses such packs; this keeps the console safe
whatever reaches it.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from bot.reading import printable
from bot.reply import Card, CardKind, Reply, Visibility

STYLE = {CardKind.ERROR: "red", CardKind.HELP: "cyan", CardKind.FACT: "magenta", CardKind.COMPARISON: "green"}


def _text(value: str, style: str | None = None) -> Text:
    """Literal text: no markup, no emoji codes, no control characters."""
    return Text(printable(value), style=style or "")


def render_card(card: Card) -> Panel:
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
    return Panel(Group(*parts), title=_text(card.title, "bold"), title_align="left",
                 border_style=STYLE.get(card.kind, "blue"))


def render_reply(reply: Reply) -> Group:
    panels: list[RenderableType] = [render_card(c) for c in reply.cards]
    notes = []
    if reply.visibility is Visibility.PUBLIC:
        notes.append("(posted publicly)")
    for action in reply.actions:
        notes.append(f"[{action.label}: {action.command}]")
    if notes:
        panels.append(_text("  ".join(notes), "dim"))
    return Group(*panels)
