"""Core benchmark: command latency (lookups and grading), search on a 10,000-topic pack, pack load,
`cytobot ask help`.

Run: .venv/bin/python -m bench.core   (prints numbers; never part of the test suite)
Targets (issue 2): command p99 < 1 ms on the bundled pack; search p99 < 5 ms on 10k topics;
bundled load < 200 ms; `cytobot ask help` < 0.6 s. Issue 10: the 10k-topic pack loaded and
indexed in under 1.5 s (through the pack cache, `bot.cache`; the cold load is printed too).
"""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.cache import load_catalog
from bot.catalog import Catalog
from bot.engine import Engine
from bot.loader import bundled_content_dir, load_pack

WORDS = (
    "fever fatigue hypotension hypoxia cytokine interleukin macrophage lymphocyte vasopressor oxygen "
    "steroid antibody receptor infusion monitoring grade toxicity inflammation endothelium ferritin "
    "protein liver kidney lung heart marker onset duration dose trial cohort infection therapy signal "
    "cascade feedback storm release syndrome immune response activation cell tissue organ failure"
).split()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50 * 1000, p99 * 1000


def measure(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    for _ in range(min(50, runs)):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def generate_pack(root: Path, topics: int, seed: int = 1) -> None:
    """A synthetic pack: `topics` topics with 4 sections each, random medical-ish words."""
    rng = random.Random(seed)

    def sentence(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."

    shutil.copy(bundled_content_dir() / "pack.yaml", root / "pack.yaml")
    for sources in sorted(bundled_content_dir().glob("sources*.yaml")):  # the topics copied below cite all of them
        shutil.copy(sources, root / sources.name)
    shutil.copy(bundled_content_dir() / "comparisons.yaml", root / "comparisons.yaml")
    shutil.copy(bundled_content_dir() / "synonyms.yaml", root / "synonyms.yaml")
    for name in ("crs", "cytokine-storm"):
        shutil.copy(bundled_content_dir() / "topics" / f"{name}.yaml", root / f"{name}.yaml")
    per_file = 400
    for f in range(0, topics, per_file):
        items = []
        for i in range(f, min(topics, f + per_file)):
            items.append({
                "id": f"topic-{i}",
                "title": f"Topic {i} {rng.choice(WORDS)}",
                "aliases": [f"t{i}", f"synthetic {i}"],
                "summary": " ".join(sentence(12) for _ in range(3)),
                "sources": ["seed"],
                "sections": [
                    {"id": f"s{j}", "title": f"Section {j}", "body": " ".join(sentence(14) for _ in range(4))}
                    for j in range(4)
                ],
            })
        (root / f"gen-{f // per_file:03d}.yaml").write_text(yaml.safe_dump({"topics": items}, sort_keys=False))


def main() -> None:
    print(f"python {sys.version.split()[0]}")
    t0 = time.perf_counter()
    pack = load_pack(bundled_content_dir())
    load_ms = (time.perf_counter() - t0) * 1000
    loads = []
    for _ in range(10):
        t0 = time.perf_counter()
        load_pack(bundled_content_dir())
        loads.append((time.perf_counter() - t0) * 1000)
    print(f"bundled pack load: first {load_ms:.1f} ms, median of 10 {statistics.median(loads):.1f} ms "
          f"({len(pack.topics)} topics, {len(pack.facts)} facts)")

    # Answered afresh every time; `cached` keeps replies as the running bot does (bot.reply_cache).
    engine = Engine(Catalog(pack), rng=random.Random(1), cache_replies=False)
    engine.catalog.search_index  # built once, as in a running bot
    cached = Engine(engine.catalog, rng=random.Random(1))
    cases = {
        "topic il6": "topic IL6",
        "topic crs symptoms": "topic crs symptoms",
        "compare severity": "compare severity",
        "compare (all)": "compare",
        "search hypotension": "search hypotension",
        "search cytokine storm therapy": "search cytokine storm therapy",
        "fact today": "fact today",
        "fact random": "fact",
        "grade crs (4 answers)": "grade crs fever=no hypotension=vasopressor hypoxia=high-flow treated=yes",
        "grade icans (5 answers)": "grade icans ice=8 consciousness=voice seizure=rapid motor=none edema=focal",
        "grade (explains both scales)": "grade",
    }
    print("\nin-process command latency, bundled pack (2000 runs each), answered afresh | repeated (reply cache):")
    for label, line in cases.items():
        p50, p99 = measure(lambda line=line: engine.execute(line), 2000)
        c50, c99 = measure(lambda line=line: cached.execute(line), 2000)
        print(f"  {label:32s} p50 {p50:7.3f} ms   p99 {p99:7.3f} ms  |  p50 {c50:7.3f} ms   p99 {c99:7.3f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_pack(root, 10_000)
        t0 = time.perf_counter()
        big = load_pack(root)
        big_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        big_engine = Engine(Catalog(big), cache_replies=False)
        index = big_engine.catalog.search_index
        index_s = time.perf_counter() - t0
        print(f"\n10,000-topic pack, cold: load {big_load * 1000:.0f} ms, catalog + search index {index_s * 1000:.0f} ms, "
              f"{len(index.documents)} documents")
        cache_dir = Path(tmp) / "cache"
        t0 = time.perf_counter()
        load_catalog(root, cache_dir=cache_dir)  # a miss: load, index, write the cache
        miss = time.perf_counter() - t0
        hits = []
        for _ in range(5):
            t0 = time.perf_counter()
            cached = load_catalog(root, cache_dir=cache_dir)
            hits.append(time.perf_counter() - t0)
        assert "search_index" in vars(cached) and len(cached.topics) == len(big.topics)
        print(f"  through the pack cache: first (miss, writes it) {miss * 1000:.0f} ms; "
              f"loaded and indexed from it: median of 5 {statistics.median(hits) * 1000:.0f} ms, max {max(hits) * 1000:.0f} ms")
        rng = random.Random(3)
        queries = [" ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(200)]
        it = iter(queries * 20)
        p50, p99 = measure(lambda: index.search(next(it)), 2000)
        print(f"  search (raw index, 1-3 words)     p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")
        it = iter(queries * 20)
        p50, p99 = measure(lambda: big_engine.execute("search " + next(it)), 2000)
        print(f"  /crs search (full command)        p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")
        p50, p99 = measure(lambda: big_engine.execute("topic t9876"), 1000)
        print(f"  /crs topic t9876                  p50 {p50:7.3f} ms   p99 {p99:7.3f} ms")

    exe = Path(sys.executable).with_name("cytobot")
    walls = []
    for _ in range(10):
        t0 = time.perf_counter()
        subprocess.run([str(exe), "ask", "help"], check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
    print(f"\n`cytobot ask help` wall time over 10 runs: median {statistics.median(walls):.3f} s, max {max(walls):.3f} s")
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from adapters.cli import main; main(['ask','help']); "
         "print(sorted(m for m in sys.modules if m.split('.')[0] in ('discord','slack_bolt','slack_sdk','aiohttp')))"],
        capture_output=True, text=True, check=True,
    )
    print(f"platform modules imported by `ask help`: {probe.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
