"""`make bench` / `python -m bench`: the list of benchmarks, running one by name with its own
options, a clear refusal for an unknown name, and progress lines from a long benchmark.
(What the benchmarks measure is never asserted here: numbers are not pass/fail.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = {"core", "questions", "slack_http", "discord_interactions", "daily_fanout", "daily_scheduler", "run_load", "pack_memory",
              "studio_reload", "big_pack"}


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CYTOBOT_TEST_POSTGRES_URL"}  # SQLite only: quick
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)


def test_bench_lists_every_benchmark_module() -> None:
    result = bench()
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert listed == BENCHMARKS | {"all"}
    on_disk = {p.stem for p in (ROOT / "bench").glob("*.py")} - {"__init__", "__main__", "progress"}
    assert on_disk == BENCHMARKS


def test_an_unknown_benchmark_is_refused_with_the_list() -> None:
    result = bench("nosuch")
    assert result.returncode == 2 and "no benchmark named 'nosuch'" in result.stderr and "daily_fanout" in result.stderr


def test_a_benchmark_runs_with_its_options_and_shows_progress() -> None:
    result = bench("daily_scheduler", "--subscriptions", "20")
    assert result.returncode == 0, result.stderr
    assert "== bench.daily_scheduler" in result.stdout and "20 subscriptions" in result.stdout
    assert "[sqlite] seeding 20 subscriptions" in result.stderr
    assert "[sqlite] 0 of 20 posted" in result.stderr and "[sqlite] 20 of 20 posted (100%)" in result.stderr
