"""The console adapter: a REPL that takes the same lines a chat user types."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bot.engine import Engine

from .render import render_reply

PROMPT = "crs> "
QUIT = {"quit", "exit", ":q", "/quit", "/exit"}


def history_file(configured: Path | None = None) -> Path:
    """CYTOBOT_HISTORY_FILE (from the settings), else the XDG state directory."""
    if configured is not None:
        return configured.expanduser()
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "cytobot" / "history"


def _setup_history(configured: Path | None = None) -> Path | None:
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        return None
    path = history_file(configured)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            readline.read_history_file(path)
        readline.set_history_length(1000)
    except OSError:
        return None
    return path


def _save_history(path: Path | None) -> None:
    if path is None:
        return
    try:
        import readline

        readline.write_history_file(path)
    except (ImportError, OSError):
        pass


def run_console(engine: Engine, console: Console | None = None, history: Path | None = None) -> int:
    console = console or Console()
    history = _setup_history(history) if sys.stdin.isatty() else None
    info = engine.catalog.info
    examples = engine.catalog.examples
    console.print(
        f"[bold]cytobot[/] console · {escape(info.name)} v{escape(info.version)}. Type [cyan]help[/], "
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
            console.print(render_reply(engine.execute(line)))
    finally:
        _save_history(history)
    return 0
