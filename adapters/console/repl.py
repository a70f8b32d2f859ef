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
from collections.abc import Callable
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
    """Reads lines in the main thread (blocking input() with readline, which owns Ctrl-C there)
    while the event loop, with the scheduler, runs in a thread of its own. The next prompt is
    shown only once the previous answer is printed, and `at_prompt` tells the poster whether to
    redraw a half-typed line under a post.

    Ctrl-C at a terminal discards the line being typed and shows a fresh prompt, as bash and
    the Python REPL do (during an answer it is ignored); Ctrl-D, or `quit`, leaves. When input
    is not a terminal, Ctrl-C ends it like Ctrl-D."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interactive: bool):
        self._loop = loop
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._go = threading.Event()
        self._finished = False
        self.interactive = interactive
        self.at_prompt = False

    def run(self) -> None:
        """The main thread's loop: a prompt whenever the console asks for a line, until the end."""
        while True:
            try:
                self._go.wait()
            except KeyboardInterrupt:
                if not self.interactive:
                    self._send(None)
                    return
                continue  # Ctrl-C while an answer is on its way: the answer still comes
            self._go.clear()
            if self._finished:
                return
            line = self._read()
            self._send(line)
            if line is None:
                return

    def _read(self) -> str | None:
        while True:
            self.at_prompt = True
            try:
                return input(PROMPT)
            except KeyboardInterrupt:
                if not self.interactive:
                    return None
                sys.stdout.write("\n")  # readline has dropped the line: a fresh prompt below it
                sys.stdout.flush()
            except (EOFError, OSError):
                return None
            finally:
                self.at_prompt = False

    def _send(self, line: str | None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._lines.put_nowait, line)
        except RuntimeError:  # the loop has already ended
            pass

    def finish(self) -> None:
        """The console is done (quit, or it failed): let the main thread return."""
        self._finished = True
        self._go.set()

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


async def _console(engine: Engine, console: Console, plain: bool, url: str | None, catch_up: timedelta | None,
                   reader_ready: Callable[[LineReader], None]) -> int:
    reader = LineReader(asyncio.get_running_loop(), interactive=sys.stdin.isatty())
    reader_ready(reader)
    try:
        return await _serve(engine, console, plain, url, catch_up, reader)
    finally:
        reader.finish()


async def _serve(engine: Engine, console: Console, plain: bool, url: str | None, catch_up: timedelta | None,
                 reader: LineReader) -> int:
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


def _wait(event: threading.Event) -> None:
    while True:
        try:
            event.wait()
            return
        except KeyboardInterrupt:
            continue


def _join(thread: threading.Thread) -> None:
    """Wait for the loop to drain and close (a Ctrl-C meanwhile does not cut it short)."""
    while thread.is_alive():
        try:
            thread.join()
        except KeyboardInterrupt:
            continue


def run_console(engine: Engine, console: Console | None = None, history_path: Path | None | EllipsisType = ...,
                *, database_url: str | None = None, catch_up: timedelta | None = None) -> int:
    """The REPL, with daily facts: the console channel's subscription posts here while you type.
    `history_path`: where to keep the line history (None: nowhere; default: `history_file()`);
    `database_url`: the daily-facts database (default: CYTOBOT_DATABASE_URL). Ctrl-D or `quit`
    leaves (the scheduler drains on the way out); Ctrl-C discards the line being typed."""
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
    # The event loop runs in a thread; the main thread reads lines, so Ctrl-C (a signal, always
    # delivered to the main thread) reaches readline and discards the line instead of quitting.
    ready = threading.Event()
    readers: list[LineReader] = []
    result: list[int] = []
    failed: list[BaseException] = []

    def serve() -> None:
        def got(reader: LineReader) -> None:
            readers.append(reader)
            ready.set()

        try:
            result.append(asyncio.run(_console(engine, console, plain, database_url, catch_up, got)))
        except BaseException as exc:  # raised again in the main thread, as before
            failed.append(exc)
        finally:
            ready.set()

    loop_thread = threading.Thread(target=serve, name="console-loop", daemon=True)
    loop_thread.start()
    try:
        _wait(ready)
        if readers:
            readers[0].run()
        _join(loop_thread)
        if failed:
            raise failed[0]
        return result[0] if result else 1
    finally:
        if history is not None:
            history.save()
