"""Benchmark: memory of a loaded pack by structure (pack models, matchers, search index), by tracemalloc.

Run: .venv/bin/python -m bench.pack_memory [--topics N]   (prints numbers; never part of the test suite)

Issue 19 asks for memory "a few times the pack" and for the per-structure sizes: this loads
the 10,000-topic benchmark pack (bench.core's generator) with the pack cache off, and prints
what each layer keeps alive once built, as a multiple of the pack's size on disk, and the
peak while building. tracemalloc counts Python allocations only, so resident memory (which
bench.big_pack measures in a real `cytobot run`) is higher.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import tracemalloc
from pathlib import Path

from bench.core import generate_pack
from bot.catalog import Catalog
from bot.loader import load_pack


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pack_memory")
    parser.add_argument("--topics", type=int, default=10_000, help="topics in the generated pack")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pack"
        root.mkdir()
        print(f"generating a {args.topics:,}-topic pack ...", flush=True)
        generate_pack(root, args.topics)
        size = sum(p.stat().st_size for p in root.rglob("*.yaml"))
        gc.collect()
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        pack = load_pack(root)
        gc.collect()
        after_pack = tracemalloc.get_traced_memory()[0]
        catalog = Catalog(pack)
        gc.collect()
        after_catalog = tracemalloc.get_traced_memory()[0]
        catalog.search_index  # noqa: B018 - built now, as a running bot builds it at load
        gc.collect()
        after_index, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    def mb(n: int) -> str:
        return f"{n / 1e6:6.1f} MB ({n / size:4.1f}x the pack)"

    print(f"pack on disk        {size / 1e6:6.1f} MB")
    print(f"pack models         {mb(after_pack - start)}")
    print(f"matchers            {mb(after_catalog - after_pack)}")
    print(f"search index        {mb(after_index - after_catalog)}")
    print(f"all, once built     {mb(after_index - start)}")
    print(f"peak while building {mb(peak - start)}")


if __name__ == "__main__":
    main()
