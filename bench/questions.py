"""Question answering benchmark: a plain-words line through `engine.execute`, as every adapter runs it.

Run: .venv/bin/python -m bench.questions   (prints numbers; never part of the test suite)
Targets (issue 8): p99 < 5 ms on the bundled pack, p99 < 20 ms on the 10,000-topic pack.

Questions: every row of tests/data/questions.yaml (in scope, held out, out of scope), and on the
big pack also questions built from its generated topics ("what is topic 123 fever?") and from
its vocabulary, so lookups, search and "not covered" all take part.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.core import WORDS, generate_pack, percentiles
from bot.catalog import Catalog
from bot.engine import Engine
from bot.loader import bundled_content_dir, load_pack

TABLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "questions.yaml"
RUNS = 3000


def table_questions() -> list[str]:
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    rows = [r["q"] for group in ("in_scope", "held_out") for r in data[group]]
    return rows + data["out_of_scope"] + data["held_out_out_of_scope"]


def report(label: str, engine: Engine, questions: list[str]) -> None:
    t0 = time.perf_counter()
    engine.execute(questions[0])  # the first question builds the search index and the name index
    first = (time.perf_counter() - t0) * 1000
    it = iter(questions * (RUNS // len(questions) + 2))
    for _ in range(50):
        engine.execute(next(it))
    walls, cpus = [], []
    for _ in range(RUNS):
        question = next(it)
        w0, c0 = time.perf_counter(), time.process_time()
        engine.execute(question)
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    p50, p99 = percentiles(walls)
    c50, c99 = percentiles(cpus)
    print(f"  {label:40s} wall p50 {p50:6.2f} ms p99 {p99:6.2f} ms | CPU p50 {c50:6.2f} ms p99 {c99:6.2f} ms"
          f" | first question {first:.0f} ms")


def main() -> None:
    print(f"python {sys.version.split()[0]}; {RUNS} questions per line, cycling through the set; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (CPU time per question is what contention cannot inflate)")
    questions = table_questions()
    bundled = Engine(Catalog(load_pack(bundled_content_dir())), rng=random.Random(1))
    print(f"\nbundled pack ({len(bundled.catalog.topics)} topics), {len(questions)} questions from {TABLE.name}:")
    report("questions (engine.execute)", bundled, questions)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_pack(root, 10_000)
        big = Engine(Catalog(load_pack(root)), rng=random.Random(1))
        rng = random.Random(5)
        synthetic = [f"what is topic {rng.randrange(10_000)}?" for _ in range(100)]
        synthetic += [f"how does {rng.choice(WORDS)} affect {rng.choice(WORDS)} in topic {rng.randrange(10_000)}"
                      for _ in range(100)]
        synthetic += [" ".join(rng.sample(WORDS, rng.randint(2, 6))) + "?" for _ in range(100)]
        print(f"\n10,000-topic pack ({len(big.catalog.topics)} topics):")
        report("the same questions", big, questions)
        report("questions on generated topics and words", big, synthetic)
        report("both, mixed", big, rng.sample(questions + synthetic, len(questions) + len(synthetic)))


if __name__ == "__main__":
    main()
