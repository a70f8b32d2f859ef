"""Progress lines for benchmarks that run for minutes: one at the start, then one every
`every` seconds, on stderr (the numbers a benchmark prints stay alone on stdout)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

EVERY = 10.0  # seconds between lines


class Progress:
    def __init__(self, label: str, total: int, *, unit: str = "done", every: float = EVERY,
                 stream: TextIO | None = None):
        self.label, self.total, self.unit, self.every = label, total, unit, every
        self.stream = stream
        self.started = time.monotonic()
        self._last = float("-inf")

    def update(self, done: int, *, force: bool = False) -> None:
        """Say how far along it is, if `every` seconds passed since the last line (or `force`)."""
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        share = done / self.total if self.total else 1.0
        left = f", about {_duration((self.total - done) / rate)} left" if rate > 0 and done < self.total else ""
        print(f"  [{self.label}] {done:,} of {self.total:,} {self.unit} ({share:.0%}) after {_duration(elapsed)}, "
              f"{rate:.1f}/s{left}", file=self.stream or sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
