"""Pack text that looks like rich markup prints literally, and control sequences never reach the terminal."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from adapters.console.render import render_reply
from bot.reply import Action, ActionKind, Card, Field, Footer, Reply, SourceRef, Table, Visibility
from tests.conftest import MINI_PACK

CYTOBOT = [sys.executable, "-m", "adapters.cli"]
MARKUP = {
    "title: Alpha condition": "title: 'Alpha [/] condition'",
    "summary: Alpha is a made-up condition with fever and hypotension.":
        "summary: 'Alpha [bold]is[/bold] made up [/] with [link=http://x]a link[/link] and :smile: [red'",
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
    env = {**os.environ, "CYTOBOT_CONTENT_DIR": str(root), "COLUMNS": "250"}
    return subprocess.run([*CYTOBOT, *args], capture_output=True, text=True, env=env, input=stdin, timeout=60, cwd="/")


def flat(text: str) -> str:
    return " ".join(text.replace("│", " ").replace("┃", " ").split())


@pytest.mark.parametrize(
    ("line", "literal"),
    [
        ("topic alpha", "Alpha [/] condition"),
        ("topic alpha", "Alpha [bold]is[/bold] made up [/] with [link=http://x]a link[/link] and :smile: [red"),
        ("topic alpha symptoms", "Fever [/b] and [i]"),
        ("compare severity", "[/]Mild"),
        ("compare severity", "[red]Can be severe"),
    ],
)
def test_markup_in_pack_text_prints_literally_in_cytobot_ask(markup_pack: Path, line: str, literal: str) -> None:
    result = ask(markup_pack, "ask", line)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert literal in flat(result.stdout)


def test_markup_in_pack_text_does_not_crash_the_console(markup_pack: Path) -> None:
    result = ask(markup_pack, "console", stdin="topic alpha\ncompare\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "Alpha [/] condition" in flat(result.stdout)
    assert "[/]Mild" in flat(result.stdout)


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
