"""The console adapter: a REPL that takes the same lines a chat user types."""

from __future__ import annotations

import sys
from pathlib import Path
from types import EllipsisType

from rich.console import Console
from rich.markup import escape

from bot.engine import Engine

from .history import History, history_file
from .render import render_plain, render_reply

PROMPT = "crs> "
QUIT = {"quit", "exit", ":q", "/quit", "/exit"}


def run_console(engine: Engine, console: Console | None = None, history_path: Path | None | EllipsisType = ...) -> int:
    """`history_path`: where to keep the line history (None: nowhere; default: `history_file()`)."""
    console = console or Console()
    path = history_file() if history_path is ... else history_path
    history = History.start(path) if sys.stdin.isatty() else None
    plain = not sys.stdout.isatty()  # piped: plain lines, no box drawing
    info = engine.catalog.info
    examples = engine.catalog.examples
    console.print(
        f"[bold]cytobot[/] console · {escape(info.name)} v{escape(info.version)}. Ask in plain words "
        f"([cyan]what is {escape(examples['topic'])}?[/]) or type [cyan]help[/], "
        f"[cyan]compare {escape(examples['aspect'])}[/], [cyan]topic {escape(examples['topic'])}[/]… "
        "([cyan]quit[/] or Ctrl-D to leave)"
    )
    try:
        while True:
            try:
                line = input(PROMPT)
            except EOFError:
                console.print()
                break
            except KeyboardInterrupt:
                console.print()
                continue
            if line.strip().casefold() in QUIT:
                break
            if not line.strip():
                continue
            reply = engine.execute(line)
            if plain:
                print(render_plain(reply), flush=True)
            else:
                console.print(render_reply(reply))
    finally:
        if history is not None:
            history.save()
    return 0
