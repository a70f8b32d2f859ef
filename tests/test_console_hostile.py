"""Pack text that looks like rich markup prints literally, and control sequences never reach the terminal."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from adapters.console.render import render_plain, render_reply
from bot.reply import Action, ActionKind, Card, Field, Footer, Reply, SourceRef, Table, Visibility
from tests.conftest import MINI_PACK

CYTOBOT = [sys.executable, "-m", "adapters.cli"]
MARKUP = {
    "title: Alpha condition": "title: 'Alpha [/] condition'",
    "summary: Alpha is a made-up condition with fever and hypotension.":
        "summary: 'Alpha [bold]is[/bold] made up [/] with [link=http://x]a link[/link], :smile: and hypotension [red'",
    "left: Mild": "left: '[/]Mild'",
    "right: Can be severe": "right: '[red]Can be severe'",
    "body: Fever, fatigue and low blood pressure (hypotension).": "body: 'Fever [/b] and [i]'",
}


@pytest.fixture
def markup_pack(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(MINI_PACK, root)
    topics = root / "topics.yaml"
    text = topics.read_text()
    for old, new in MARKUP.items():
        assert old in text
        text = text.replace(old, new)
    topics.write_text(text)
    # "[bold]" is also how the pack cites a source with id "bold": define those, so the pack is valid.
    with (root / "sources.yaml").open("a") as sources:
        for key in ("bold", "i", "red"):
            sources.write(f"  - id: {key}\n    title: Source {key}\n    citation: Author. A source called {key}. 2020.\n")
    return root


def ask(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Through a pipe: the plain rendering."""
    env = {**os.environ, "CYTOBOT_CONTENT_DIR": str(root), "COLUMNS": "250"}
    return subprocess.run([*CYTOBOT, *args], capture_output=True, text=True, env=env, input=stdin, timeout=60, cwd="/")


def ask_on_a_terminal(root: Path, *args: str) -> tuple[int, str]:
    """On a pseudo-terminal: rich's panels and tables, as a person at a terminal sees them."""
    env = {**os.environ, "CYTOBOT_CONTENT_DIR": str(root), "COLUMNS": "250", "TERM": "xterm-256color"}
    fd, tty = pty.openpty()
    proc = subprocess.Popen([*CYTOBOT, *args], stdin=subprocess.DEVNULL, stdout=tty, stderr=tty, env=env, cwd="/")
    os.close(tty)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
        os.close(fd)
    return code, ANSI.sub("", output.decode(errors="replace"))


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def flat(text: str) -> str:
    return " ".join(text.replace("│", " ").replace("┃", " ").split())


@pytest.mark.parametrize(
    ("line", "literal"),
    [
        ("topic alpha", "Alpha [/] condition"),
        ("topic alpha", "Alpha [bold]is[/bold] made up [/] with [link=http://x]a link[/link], :smile: and hypotension [red"),
        ("topic alpha symptoms", "Fever [/b] and [i]"),
        ("compare severity", "[/]Mild"),
        ("compare severity", "[red]Can be severe"),
    ],
)
def test_markup_in_pack_text_prints_literally_in_cytobot_ask(markup_pack: Path, line: str, literal: str) -> None:
    code, shown = ask_on_a_terminal(markup_pack, "ask", line)
    assert code == 0, shown
    assert "Traceback" not in shown and "MarkupError" not in shown
    assert "╭" in shown  # the rich rendering, not the plain one
    assert literal in flat(shown)
    piped = ask(markup_pack, "ask", line)
    assert piped.returncode == 0, piped.stderr
    assert literal in flat(piped.stdout)


def test_markup_in_pack_text_does_not_crash_the_console(markup_pack: Path, tmp_path: Path) -> None:
    """The REPL on a pseudo-terminal (rich rendering), typing as a person would."""
    env = {**os.environ, "CYTOBOT_CONTENT_DIR": str(markup_pack), "COLUMNS": "250", "TERM": "dumb",
           "CYTOBOT_HISTORY_FILE": str(tmp_path / "history")}
    fd, tty = pty.openpty()
    proc = subprocess.Popen([*CYTOBOT, "console"], stdin=tty, stdout=tty, stderr=tty, env=env, cwd="/", start_new_session=True)
    os.close(tty)
    output = b""

    def read_until(marker: bytes, count: int) -> None:
        nonlocal output
        while output.count(marker) < count:
            ready, _, _ = select.select([fd], [], [], 60)
            assert ready, f"{marker!r} x{count} not seen; got {output[-400:]!r}"
            output += os.read(fd, 65536)

    try:
        read_until(b"crs> ", 1)
        os.write(fd, b"topic alpha\r")
        read_until(b"crs> ", 2)
        os.write(fd, b"compare\r")
        read_until(b"crs> ", 3)
        os.write(fd, b"\x04")
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        os.close(fd)
    shown = flat(ANSI.sub("", output.decode(errors="replace")))
    assert "Traceback" not in shown and "╭" in shown
    assert "Alpha [/] condition" in shown and "[/]Mild" in shown and "[red]Can be severe" in shown


INJECTED = ("\x1b]0;pwned\x07", "\x1b[2J", "\x9b31m", "\u202e")


def test_control_sequences_are_shown_as_escapes_never_sent_to_the_terminal() -> None:
    """The loader refuses such packs; the renderer is the second line for anything else that reaches it."""
    evil = "x\x1b]0;pwned\x07 y\x1b[2J z\x9b31m \u202eoops"
    card = Card(
        title=f"T {evil}",
        footer=Footer(f"not medical advice {evil}", (SourceRef("s1", f"Source {evil}"),)),
        body=f"Body {evil}",
        fields=(Field(f"F {evil}", f"V {evil}"),),
        table=Table((f"H {evil}", "B"), ((f"R {evil}", f"C {evil}"),)),
        subtitle=f"S {evil}",
    )
    reply = Reply((card,), Visibility.PUBLIC, (Action(ActionKind.SHARE, "Share", f"topic {evil}"),))
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=300).print(render_reply(reply))
    shown = out.getvalue()
    for sequence in INJECTED:
        assert sequence not in shown
    assert "\x07" not in shown
    assert shown.count("\\x1b]0;pwned\\x07") >= 8  # every part of the card, visibly escaped
    assert "\\u202eoops" in shown
    plain = render_plain(reply)  # what a pipe gets
    for sequence in INJECTED:
        assert sequence not in plain
    assert plain.count("\\x1b]0;pwned\\x07") >= 8
