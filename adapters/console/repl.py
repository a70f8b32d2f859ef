"""The console adapter: a REPL that takes the same lines a chat user types.

It is an asyncio program: lines are read in a thread, so the daily-fact scheduler keeps
running (and printing the console channel's due posts) while you type. On a terminal replies
are rich panels; piped, plain lines.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from datetime import timedelta
from pathlib import Path
from types import EllipsisType

from rich.console import Console
from rich.markup import escape

from adapters.daily import DailyUnavailable, running_daily
from bot.engine import Engine
from bot.request import CONSOLE, Request

from .history import History, history_file
from .poster import PLATFORM, console_poster
from .render import render_plain, render_reply

PROMPT = "crs> "
QUIT = {"quit", "exit", ":q", "/quit", "/exit"}


class LineReader:
    """Reads lines in a daemon thread (blocking input() with readline) while the scheduler runs
    in the event loop. The next prompt is shown only once the previous answer is printed, and
    `at_prompt` tells the poster whether to redraw a half-typed line under a post."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._go = threading.Event()
        self.at_prompt = False
        threading.Thread(target=self._run, name="console-input", daemon=True).start()

    def _run(self) -> None:
        while True:
            self._go.wait()
            self._go.clear()
            self.at_prompt = True
            try:
                line: str | None = input(PROMPT)
            except (EOFError, KeyboardInterrupt, OSError):
                line = None
            finally:
                self.at_prompt = False
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
            if line is None:
                return

    async def next_line(self) -> str | None:
        """Show the prompt and wait for a line (None: end of input)."""
        self._go.set()
        return await self._lines.get()

    def buffer(self) -> str:
        """What is typed so far at the prompt ("" when not at a prompt)."""
        if not self.at_prompt:
            return ""
        try:
            import readline

            return readline.get_line_buffer()
        except ImportError:  # pragma: no cover
            return ""


async def _console(engine: Engine, console: Console, plain: bool, url: str | None, catch_up: timedelta | None) -> int:
    reader = LineReader(asyncio.get_running_loop())
    poster = console_poster(console, prompt=PROMPT, line_buffer=reader.buffer, at_prompt=lambda: reader.at_prompt,
                            interactive=not plain)
    try:
        async with running_daily(engine, {PLATFORM: poster}, url=url, catch_up=catch_up) as (wired, _daily):
            while True:
                line = await reader.next_line()
                if line is None:
                    console.print()
                    break
                if line.strip().casefold() in QUIT:
                    break
                if not line.strip():
                    continue
                reply = await wired.handle(Request.text(line, CONSOLE))
                if plain:
                    print(render_plain(reply), flush=True)
                else:
                    console.print(render_reply(reply))
    except DailyUnavailable as exc:
        console.print(f"[red]cytobot:[/] {escape(str(exc))}")
        return 1
    return 0


def run_console(engine: Engine, console: Console | None = None, history_path: Path | None | EllipsisType = ...,
                *, database_url: str | None = None, catch_up: timedelta | None = None) -> int:
    """The REPL, with daily facts: the console channel's subscription posts here while you type.
    `history_path`: where to keep the line history (None: nowhere; default: `history_file()`);
    `database_url`: the daily-facts database (default: CYTOBOT_DATABASE_URL). Ctrl-D or `quit`
    leaves (Ctrl-C too: the scheduler drains on the way out)."""
    console = console or Console()
    path = history_file() if history_path is ... else history_path
    history = History.start(path) if sys.stdin.isatty() else None
    plain = not sys.stdout.isatty()  # piped: plain lines, no box drawing
    info = engine.catalog.info
    examples = engine.catalog.examples
    console.print(
        f"[bold]cytobot[/] console · {escape(info.name)} v{escape(info.version)}. Ask in plain words "
        f"([cyan]what is {escape(examples['topic'])}?[/]) or type [cyan]help[/], "
        f"[cyan]compare {escape(examples['aspect'])}[/], [cyan]topic {escape(examples['topic'])}[/], "
        "[cyan]daily subscribe 9am[/]… ([cyan]quit[/] or Ctrl-D to leave)"
    )
    try:
        return asyncio.run(_console(engine, console, plain, database_url, catch_up))
    except KeyboardInterrupt:
        console.print()
        return 0
    finally:
        if history is not None:
            history.save()
