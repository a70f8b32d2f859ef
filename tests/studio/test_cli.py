"""`cytobot studio` as a command: it refuses a broken pack with every problem, says what to do
about a missing question file, and is listed in `cytobot --help`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CYTOBOT = [sys.executable, "-m", "adapters.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CYTOBOT, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_broken_pack_is_refused_with_file_and_line_as_content_check_prints_them(hostile_pack: Path) -> None:
    (hostile_pack / "topics.yaml").write_text("topics:\n  - id: alpha\n    titel: Alpha\n", encoding="utf-8")
    studio = run("studio", str(hostile_pack), "--port", "0")
    check = run("content", "check", str(hostile_pack))
    assert studio.returncode == 1 and check.returncode == 1
    listed = [line.strip() for line in studio.stderr.splitlines() if re.match(r"\s+topics\.yaml:\d+: ", line)]
    assert listed and listed == [line for line in check.stdout.splitlines() if line.startswith("topics.yaml:")]
    assert "cytobot content check" in studio.stderr


def test_a_missing_question_file_says_what_to_give(hostile_pack: Path, tmp_path: Path) -> None:
    result = run("studio", str(hostile_pack), "--port", "0", "--questions", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "no question file at" in result.stderr and "tests/data/questions.yaml" in result.stderr


def test_studio_is_listed_in_help() -> None:
    result = run("--help")
    assert result.returncode == 0 and "studio" in result.stdout
    usage = run("studio", "--help")
    assert "--port" in usage.stdout and "--host" in usage.stdout and "--questions" in usage.stdout


def test_a_busy_port_says_to_try_another(hostile_pack: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("studio", str(hostile_pack), "--port", str(port))
    assert result.returncode == 1 and "cannot listen on 127.0.0.1" in result.stderr and "--port" in result.stderr


def test_loopback_answers_its_loopback_names_only_and_a_wildcard_any() -> None:
    from adapters.studio.server import Studio
    from bot.engine import Engine
    from tests.conftest import MINI_PACK

    studio = Studio(Engine.load(MINI_PACK), MINI_PACK)
    studio.allow("127.0.0.1", 8765)
    assert studio.allowed_hosts == {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"}
    studio.allow("0.0.0.0", 8765)
    assert studio.allowed_hosts == set()  # the guard then accepts any Host
