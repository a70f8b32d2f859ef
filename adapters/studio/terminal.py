"""The console renderer's output as HTML: the same rich renderables `cytobot console` prints,
laid out by rich at a terminal width, then each styled run of text as an escaped <span>.

Only a few style classes are used (bold, dim, italic and the eight standard colours), so the
page needs no inline styles and its Content-Security-Policy can forbid them.
"""

from __future__ import annotations

import io

from markupsafe import Markup, escape
from rich.console import Console

from adapters.console.render import render_plain, render_reply
from bot.reply import Reply

WIDTH = 80  # columns, as a common terminal
COLOURS = frozenset({"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"})


def _classes(style) -> str:
    if style is None:
        return ""
    names = []
    if style.bold:
        names.append("t-b")
    if style.dim:
        names.append("t-d")
    if style.italic:
        names.append("t-i")
    colour = style.color.name if style.color is not None else ""
    colour = colour.removeprefix("bright_")
    if colour in COLOURS:
        names.append(f"t-{colour}")
    return " ".join(names)


def terminal_html(reply: Reply, width: int = WIDTH) -> Markup:
    """The reply as the console prints it on a terminal `width` columns wide, as HTML spans."""
    console = Console(file=io.StringIO(), width=width, color_system="standard", force_terminal=True,
                      legacy_windows=False, soft_wrap=False)
    lines = console.render_lines(render_reply(reply), console.options.update(width=width), pad=False)
    out = []
    for line in lines:
        parts = []
        for segment in line:
            if segment.control:
                continue
            css = _classes(segment.style)
            text = escape(segment.text)
            parts.append(Markup(f'<span class="{css}">{text}</span>') if css else text)
        out.append(Markup("").join(parts))
    return Markup("\n").join(out)


def terminal_plain(reply: Reply) -> str:
    """What `cytobot ask` prints into a pipe."""
    return render_plain(reply)
