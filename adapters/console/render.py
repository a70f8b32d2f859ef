"""Render neutral replies as rich terminal panels and tables."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from bot.reply import Card, CardKind, Reply, Visibility

STYLE = {CardKind.ERROR: "red", CardKind.HELP: "cyan", CardKind.FACT: "magenta", CardKind.DAILY: "magenta", CardKind.COMPARISON: "green"}


def render_card(card: Card) -> Panel:
    parts: list[RenderableType] = []
    if card.subtitle:
        parts.append(Text(card.subtitle, style="dim"))
    if card.body:
        parts.append(Text(card.body))
    if card.table is not None:
        table = RichTable(show_lines=True, expand=True)
        for i, header in enumerate(card.table.headers):
            table.add_column(header, style="bold" if i == 0 else None, ratio=1 if i == 0 else 2)
        for row in card.table.rows:
            table.add_row(*row)
        parts.append(table)
    for field in card.fields:
        parts.append(Text.assemble((field.name, "bold"), "\n", field.value))
    footer = Text(card.footer.disclaimer, style="dim italic")
    if card.footer.sources:
        refs = "; ".join(s.display for s in card.footer.sources)
        footer = Text.assemble(("Sources: " + refs + "\n", "dim"), footer)
    parts.append(footer)
    return Panel(Group(*parts), title=f"[bold]{escape(card.title)}[/]", title_align="left",
                 border_style=STYLE.get(card.kind, "blue"))


def render_reply(reply: Reply) -> Group:
    panels: list[RenderableType] = [render_card(c) for c in reply.cards]
    notes = []
    if reply.visibility is Visibility.PUBLIC:
        notes.append("(posted publicly)")
    for action in reply.actions:
        notes.append(f"[{action.label}: {action.command}]")
    if notes:
        panels.append(Text("  ".join(notes), style="dim"))
    return Group(*panels)
