"""Daily facts in the terminal: the console's poster prints a due post between prompts.

`RecordingFilePoster` is a TEST-ONLY hook (selected by CYTOBOT_TEST_ONLY_POSTER_FILE): it lets
a test run a real `cytobot` process, kill it and restart it, and then read what was "posted".
Like Discord with a nonce, it refuses to post a key twice, so the file shows which resends a
platform that de-duplicates would have absorbed.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from bot.daily.delivery import PostOutcome, Sent
from bot.reply import Reply

from .render import render_plain, render_reply

PLATFORM = "console"
TEST_POSTER_ENV = "CYTOBOT_TEST_ONLY_POSTER_FILE"
TEST_RATE_ENV = "CYTOBOT_TEST_ONLY_POSTER_RATE"


class ConsolePoster:
    """Prints a daily post into the terminal. At a prompt, the half-typed line is redrawn
    below the post, so typing carries on where it was."""

    platform = PLATFORM
    rate = 20.0  # posts a second: a terminal takes any rate; this keeps a burst readable

    def __init__(self, console: Console, *, prompt: str = "", line_buffer: Callable[[], str] | None = None,
                 at_prompt: Callable[[], bool] | None = None, interactive: bool | None = None):
        self.console = console
        self.prompt = prompt
        self.line_buffer = line_buffer or (lambda: "")
        self.at_prompt = at_prompt or (lambda: False)
        self.interactive = sys.stdout.isatty() if interactive is None else interactive
        self._sent = 0

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        self._sent += 1
        label = f"Daily fact for {channel}" if channel != PLATFORM else "Daily fact"
        redraw = self.interactive and self.at_prompt()
        if redraw:
            self.console.file.write("\r\x1b[2K")  # clear the prompt line
        elif self.at_prompt():
            print(flush=True)  # not a terminal: end the prompt's line
        if self.interactive:
            self.console.print(f"[dim]── {label} ──[/]")
            self.console.print(render_reply(reply))
        else:  # piped: plain lines, like every other reply there
            print(f"── {label} ──\n{render_plain(reply)}", flush=True)
        if redraw and self.prompt:
            self.console.file.write(self.prompt + self.line_buffer())
            self.console.file.flush()
        return Sent(f"console-{self._sent}")


class RecordingFilePoster:
    """TEST ONLY: appends each post as a JSON line to a file and, like Discord's nonce with
    enforce_nonce, answers a key it has already posted with the first message instead of posting
    again. Selected by CYTOBOT_TEST_ONLY_POSTER_FILE; never used otherwise."""

    platform = PLATFORM

    def __init__(self, path: str | os.PathLike[str], rate: float = 200.0):
        self.path = Path(path)
        self.rate = rate
        self._lock = threading.Lock()
        self._posted: dict[str, str] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short by SIGKILL
                if entry.get("event") == "post":
                    self._posted.setdefault(entry["key"], entry["message_id"])

    def _write(self, entry: dict[str, object]) -> None:
        with self._lock, self.path.open("a") as out:
            out.write(json.dumps(entry) + "\n")
            out.flush()

    async def post(self, channel: str, reply: Reply, *, key: str) -> PostOutcome:
        if key in self._posted:
            self._write({"event": "deduplicated", "key": key, "channel": channel, "pid": os.getpid()})
            return Sent(self._posted[key])
        message_id = f"{os.getpid()}-{len(self._posted) + 1}"
        self._posted[key] = message_id
        text = reply.cards[0].body if reply.cards else ""
        self._write({"event": "post", "key": key, "channel": channel, "message_id": message_id, "pid": os.getpid(),
                     "text": text, "at": time.time()})
        return Sent(message_id)


def console_poster(console: Console, **kwargs: object) -> ConsolePoster | RecordingFilePoster:
    """The terminal poster, or the test-only recording poster when its variable is set."""
    path = os.environ.get(TEST_POSTER_ENV, "").strip()
    if path:
        rate = float(os.environ.get(TEST_RATE_ENV, "") or 200.0)
        return RecordingFilePoster(path, rate)
    return ConsolePoster(console, **kwargs)  # type: ignore[arg-type]
