"""The console adapter and `cytobot ask`, driven as a user would: real subprocesses and a pty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MINI_PACK
from tests.pty_console import PtyConsole

CYTOBOT = [sys.executable, "-m", "adapters.cli"]
ROOT = Path(__file__).resolve().parents[1]


def flat(text: str) -> str:
    """Terminal output without box drawing and line wrapping, for phrase checks."""
    return " ".join(text.replace("│", " ").replace("┃", " ").split())


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "100"}
    full_env.pop("CYTOBOT_CONTENT_DIR", None)  # the bundled pack, unless the test names one
    full_env.update(env or {})
    return subprocess.run([*CYTOBOT, *args], capture_output=True, text=True, env=full_env, input=stdin, timeout=60, cwd="/")


def test_ask_text_renders_a_card() -> None:
    result = run("ask", "compare severity")
    assert result.returncode == 0, result.stderr
    assert "Severity" in result.stdout and "not medical advice" in flat(result.stdout)


def test_ask_json_is_the_neutral_reply() -> None:
    result = run("ask", "/crs topic IL6", "--format", "json")
    assert result.returncode == 0
    reply = json.loads(result.stdout)
    assert reply["command"] == "topic il-6"
    assert reply["visibility"] == "private"
    assert reply["actions"][0]["kind"] == "share"
    assert reply["cards"][0]["footer"]["disclaimer"]


@pytest.mark.parametrize("line", ["nonsense words", "", "x" * 5000, "topic \x1b[2J🦠", "<!channel>"])
def test_ask_exits_zero_for_any_user_input(line: str) -> None:
    result = run("ask", line, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cards"]


def test_ask_exits_nonzero_on_a_broken_pack(tmp_path: Path) -> None:
    (tmp_path / "pack.yaml").write_text("pack: [oops\n")
    result = run("ask", "help", env={"CYTOBOT_CONTENT_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "pack.yaml" in result.stderr and "broken" in result.stderr


def test_content_check() -> None:
    ok = run("content", "check")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ")
    mini = run("content", "check", str(MINI_PACK))
    assert mini.returncode == 0 and "2 topics" in mini.stdout


def test_content_check_prints_every_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("topics:\n  - id: Bad Id\n    title: x\n")
    result = run("content", "check", str(tmp_path))
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("a.yaml:")]
    assert len(lines) >= 3  # bad id, missing summary, missing sources
    assert any("a.yaml:2:" in line for line in lines)


def test_console_over_a_pipe() -> None:
    result = run("console", stdin="compare severity\ntopic il6\nbogus\nquit\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Severity" in out and "Interleukin-6" in out and "Not covered by this pack" in out


def test_console_in_a_pseudo_terminal_keeps_history(tmp_path: Path) -> None:
    history = tmp_path / "history"
    env = {**os.environ, "CYTOBOT_HISTORY_FILE": str(history), "COLUMNS": "100", "TERM": "dumb"}
    env.pop("CYTOBOT_CONTENT_DIR", None)
    with PtyConsole(env) as console:
        console.expect(b"crs> ", 1)
        console.type("/crs compare severity")
        console.expect(b"Severity")
        console.expect(b"crs> ", 2)
        console.type("fact today")
        console.expect(b"Did you know?")
        console.expect(b"crs> ", 3)
        assert console.leave() == 0
        output = console.output
    assert "not medical advice" in flat(output.decode(errors="replace"))
    assert history.read_text().splitlines()[-2:] == ["/crs compare severity", "fact today"]


def test_ctrl_c_in_the_console_discards_the_line_and_prompts_again(tmp_path: Path) -> None:
    """As in bash or the Python REPL: Ctrl-C (a SIGINT from the terminal) drops what was typed
    and shows a fresh prompt; the console stays, answers the next line, and Ctrl-D leaves."""
    history = tmp_path / "history"
    env = {**os.environ, "CYTOBOT_HISTORY_FILE": str(history), "COLUMNS": "100", "TERM": "dumb"}
    env.pop("CYTOBOT_CONTENT_DIR", None)
    with PtyConsole(env, controlling=True) as console:
        console.expect(b"crs> ", 1)
        console.keys(b"topic zebrafish-half-typed")
        console.expect(b"zebrafish-half-typed")
        console.keys(b"\x03")
        console.expect(b"crs> ", 2)
        assert console.proc.poll() is None  # still running
        console.keys(b"quit")  # would leave if Enter were pressed; the echo says readline has it
        console.expect(b"crs> quit")
        console.keys(b"\x03")
        console.expect(b"crs> ", 3)
        console.type("about")
        console.expect(b"Bot version")
        console.expect(b"crs> ", 4)
        assert console.leave() == 0
        output = console.output.decode(errors="replace")
    assert "No topic matches" not in output and "Traceback" not in output
    assert history.read_text().splitlines() == ["about"]
