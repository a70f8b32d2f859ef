"""`cytobot ask` and the console as tools: plain output for pipes, words without quotes, lines
starting with "-", no share line, plurals, titles cut at a word with "…", and a private history."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from adapters.cli import AskUsage, parse_ask
from adapters.console.history import MAX_LINES, history_file, make_private
from adapters.console.render import render_reply
from bot.engine import Engine
from tests.conftest import MINI_PACK
from tests.pty_console import PtyConsole

CYTOBOT = [sys.executable, "-m", "adapters.cli"]
BOX = set("│┃╭╮╰╯─━┌┐└┘├┤┬┴┼═║")


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "100"}
    full_env.pop("CYTOBOT_CONTENT_DIR", None)
    full_env.update(env or {})
    return subprocess.run([*CYTOBOT, *args], capture_output=True, text=True, env=full_env, input=stdin, timeout=60, cwd="/")


def test_ask_without_quotes_prints_plain_lines_one_table_row_each() -> None:
    result = run("ask", "compare", "severity")
    assert result.returncode == 0, result.stderr
    assert not BOX & set(result.stdout)
    lines = result.stdout.splitlines()
    assert "Severity | Generally less severe | Can be severe and life-threatening" in lines
    assert lines[0] == "Severity: Cytokine release syndrome (CRS) vs Cytokine storm"
    assert "Share in channel" not in result.stdout
    whole = run("ask", "compare")
    rows = [line for line in whole.stdout.splitlines() if line.count(" | ") == 2]
    assert len(rows) == 11  # the header and one line per aspect: `| grep` finds a row whole


@pytest.mark.parametrize(
    ("args", "line", "fmt"),
    [
        (["compare", "severity"], "compare severity", "text"),
        (["--format", "json", "compare", "severity"], "compare severity", "json"),
        (["compare", "severity", "--format", "slack"], "compare severity", "slack"),
        (["--format=discord", "topic", "il6"], "topic il6", "discord"),
        (["-crs", "fact"], "-crs fact", "text"),
        (["--", "--format", "json"], "--format json", "text"),
        (["what", "is", "-x", "--verbose?"], "what is -x --verbose?", "text"),
        ([], "", "text"),
    ],
)
def test_ask_reads_every_word_as_part_of_the_line(args: list[str], line: str, fmt: str) -> None:
    assert parse_ask(args) == (line, fmt)
    assert parse_ask(["--help"]) is None and parse_ask(["-h"]) is None


@pytest.mark.parametrize("args", [["--format", "yaml", "compare"], ["compare", "--format", "yaml"],
                                  ["compare", "--format=yml"], ["--format"], ["compare", "--format"]])
def test_ask_refuses_an_unknown_format_listing_the_formats(args: list[str]) -> None:
    with pytest.raises(AskUsage):
        parse_ask(args)
    result = run("ask", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert "one of text, json, slack, discord" in result.stderr and "Traceback" not in result.stderr


def test_ask_and_content_check_ignore_a_bad_setting_they_do_not_read() -> None:
    """CYTOBOT_HTTP_PORT=bad concerns `cytobot run` alone; a bad setting ask reads still stops it."""
    bad_port = {"CYTOBOT_HTTP_PORT": "bad", "SLACK_APP_TOKEN": "not-a-token"}
    answer = run("ask", "about", env=bad_port)
    assert answer.returncode == 0 and "About cytobot" in answer.stdout, answer.stderr
    assert answer.stderr == ""
    assert run("content", "check", env=bad_port).returncode == 0
    served = run("run", env=bad_port)
    assert served.returncode == 78 and "CYTOBOT_HTTP_PORT must be a whole number" in served.stderr
    wrong_level = run("ask", "about", env={"CYTOBOT_LOG_LEVEL": "loud"})
    assert wrong_level.returncode == 78 and "CYTOBOT_LOG_LEVEL" in wrong_level.stderr


@pytest.mark.parametrize("args", [["-crs", "fact"], ["--nonsense", "-h"], ["--", "--format"], ["--", "compare", "--format", "yaml"]])
def test_ask_exits_zero_for_lines_that_look_like_options(args: list[str]) -> None:
    result = run("ask", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and "not medical advice" in result.stdout
    assert "usage:" not in result.stderr


def test_ask_help_and_json_without_quotes() -> None:
    usage = run("ask", "--help")
    assert usage.returncode == 0 and usage.stdout.startswith("usage: cytobot ask")
    reply = json.loads(run("ask", "--format", "json", "what", "is", "the", "difference", "between", "crs", "and",
                           "cytokine", "storm?").stdout)
    assert reply["command"] == "compare crs cytokine-storm"


def test_ask_into_a_pipe_closed_early_exits_quietly() -> None:
    shell = f"{' '.join(CYTOBOT)} ask compare | head -n 1"
    result = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, timeout=60, cwd=str(Path(__file__).parents[1]))
    assert result.stdout.strip() and "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_console_over_a_pipe_is_plain_and_shows_no_share_line() -> None:
    result = run("console", stdin="compare severity\nserch fever\nhi\nquit\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Severity | Generally less severe | Can be severe and life-threatening" in out.splitlines()
    assert "I read “serch” as the command “search”." in out and "Hello!" in out
    assert "Share in channel" not in out and not BOX & set(out)


def test_plurals_read_right(mini_engine: Engine) -> None:
    check = run("content", "check", str(MINI_PACK))
    assert "1 comparison," in check.stdout and "2 topics" in check.stdout and "comparisons" not in check.stdout
    about = mini_engine.execute("about").text
    assert "1 comparison," in about and "2 topics" in about
    assert "1 comparisons" not in mini_engine.execute("list").text


def test_titles_are_cut_at_a_word_with_an_ellipsis(engine: Engine) -> None:
    reply = engine.execute("topic crs symptoms")
    title = reply.cards[0].title
    console = Console(width=40, record=True, force_terminal=True, color_system=None)
    console.print(render_reply(reply))
    first = console.export_text().splitlines()[0]
    shown = first.strip("╭─╮ ")
    assert shown.endswith("…") and len(first) <= 40
    kept = shown[:-1]
    assert title.startswith(kept) and title[len(kept)] in " ,;:.-", f"cut mid-word: {shown!r}"


# ---------------------------------------------------------------- history


def test_history_location_comes_from_the_environment(tmp_path: Path) -> None:
    assert history_file({"CYTOBOT_HISTORY_FILE": ""}) is None
    assert history_file({"CYTOBOT_HISTORY_FILE": "  "}) is None
    assert history_file({"CYTOBOT_HISTORY_FILE": str(tmp_path / "h")}) == tmp_path / "h"
    assert history_file({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "cytobot" / "history"
    assert history_file({}) == Path.home() / ".local" / "state" / "cytobot" / "history"


def test_history_files_are_created_private_and_tightened(tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "history"
    make_private(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert stat.S_IMODE(fresh.parent.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.write_text("topic il6\n")
    loose.chmod(0o644)
    make_private(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600 and loose.read_text() == "topic il6\n"


def _console_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "HOME": str(tmp_path / "home"), "XDG_STATE_HOME": str(tmp_path / "state")}
    env.pop("CYTOBOT_CONTENT_DIR", None)
    env.pop("CYTOBOT_HISTORY_FILE", None)
    env.update(extra)
    return env


def test_console_history_is_private_and_bounded(tmp_path: Path) -> None:
    history = tmp_path / "state" / "cytobot" / "history"
    history.parent.mkdir(parents=True)
    history.write_text("".join(f"old question {i}\n" for i in range(MAX_LINES + 200)))
    history.chmod(0o644)
    with PtyConsole(_console_env(tmp_path)) as console:
        console.expect(b"crs> ")
        console.type("what is HLH?")
        console.expect(b"Hemophagocytic")
        console.expect(b"crs> ", 2)
        assert console.leave() == 0
    lines = history.read_text().splitlines()
    assert lines[-1] == "what is HLH?" and len(lines) <= MAX_LINES
    assert stat.S_IMODE(history.stat().st_mode) == 0o600


def test_console_keeps_no_history_on_disk_when_turned_off(tmp_path: Path) -> None:
    with PtyConsole(_console_env(tmp_path, CYTOBOT_HISTORY_FILE="")) as console:
        console.expect(b"crs> ")
        console.type("patient 12 has a fever")
        console.expect(b"crs> ", 2)
        assert console.leave() == 0
        output = console.output
    assert "Share in channel" not in output.decode(errors="replace")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []
