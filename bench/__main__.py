"""`python -m bench` (`make bench`): list the benchmarks, or run some of them.

    python -m bench                       # the list, one line each
    python -m bench core questions        # run these, one after the other
    python -m bench daily_fanout --platform slack --subscriptions 1000   # one, with its options
    python -m bench all                   # every one (long: the fan-outs take minutes each)
    make bench BENCH="core questions"     # the same through make

Each runs in a process of its own (`python -m bench.NAME`), prints numbers and asserts
nothing; the exit code is the first failing benchmark's, else 0.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
NOT_BENCHMARKS = {"__init__", "__main__", "progress"}


def benchmarks() -> dict[str, str]:
    """Name -> the first line of its docstring, for every benchmark module here."""
    found = {}
    for path in sorted(HERE.glob("*.py")):
        if path.stem in NOT_BENCHMARKS:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        found[path.stem] = _summary(doc)
    return found


def _summary(doc: str) -> str:
    """The docstring's first sentence (its first paragraph if it has no full stop), shortened."""
    text = " ".join(doc.strip().split("\n\n")[0].split()).removeprefix("Benchmark: ")
    text = text.split(". ")[0].rstrip(".")
    return text if len(text) <= 100 else text[:99].rsplit(" ", 1)[0] + "…"


def listing(known: dict[str, str]) -> str:
    width = max(map(len, known), default=0)
    lines = ["benchmarks (run one with `make bench BENCH=NAME` or `.venv/bin/python -m bench NAME [options]`):"]
    lines += [f"  {name:<{width}}  {summary}" for name, summary in known.items()]
    lines.append(f"  {'all':<{width}}  every benchmark above, one after the other")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    known = benchmarks()
    if not args or args[0] in ("-h", "--help", "list"):
        print(listing(known))
        return 0
    if args == ["all"]:
        names, options = list(known), []
    elif args[0] in known and any(a.startswith("-") for a in args[1:]):
        names, options = [args[0]], args[1:]  # one benchmark and its own options
    else:
        names, options = args, []
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"python -m bench: no benchmark named {', '.join(map(repr, unknown))}\n{listing(known)}", file=sys.stderr)
        return 2
    code = 0
    for name in names:
        print(f"== bench.{name}: {known[name]}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{name}", *options], check=False)
        code = code or result.returncode
    return code


if __name__ == "__main__":
    sys.exit(main())
