"""Pack studio benchmark: time from saving an edit to the page showing it.

Run: .venv/bin/python -m bench.studio_reload   (prints numbers; never part of the test suite)
Needs Debian's Chromium at /usr/bin/chromium (`make test` installs it).

A real `cytobot studio` process serves a copy of the pack; Chromium (driven by Playwright) shows
the CRS topic's card. Each run rewrites the topic's title in its YAML file and measures, from the
moment the file is closed, until the card on the page shows the new title. That is the whole
path: the reloader's polling (0.25 s, and one more interval for the save to settle), loading and
indexing the pack in a worker thread, the event to the page, and the page fetching and drawing
the card again. On the bundled pack and on the 10,000-topic pack of bench/core.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.core import generate_pack
from bot.loader import bundled_content_dir

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
URL = re.compile(r"at (http://127\.0\.0\.1:\d+/)")
TITLE = "title: Cytokine release syndrome (CRS)"
RELOADED = re.compile(r"content reloaded \(.*\): .* in ([\d.]+) s")


def start(directory: Path, cache: Path, reloads: list[float]) -> tuple[subprocess.Popen, str]:
    """The studio process and its URL; `reloads` collects the reload times it logs."""
    env = {k: v for k, v in os.environ.items() if k != "CYTOBOT_CONTENT_DIR"}
    env |= {"PYTHONUNBUFFERED": "1", "CYTOBOT_CACHE_DIR": str(cache), "CYTOBOT_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen([sys.executable, "-m", "adapters.cli", "studio", str(directory), "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            r = RELOADED.search(line)
            if r:
                reloads.append(float(r.group(1)))
            m = URL.search(line)
            if m and not found:
                found.append(m.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(300)
    if not found:
        proc.kill()
        raise SystemExit("cytobot studio did not start")
    return proc, found[0]


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def measure(page, crs: Path, url: str, runs: int) -> list[float]:
    original = crs.read_text(encoding="utf-8")
    page.goto(url + "#card/topic%20crs")
    page.wait_for_selector("#card-title")
    samples = []
    try:
        for i in range(runs):
            title = f"Cytokine release syndrome, edit {i} {time.monotonic_ns()}"
            crs.write_text(original.replace(TITLE, f"title: {title}", 1), encoding="utf-8")
            saved = time.perf_counter()
            page.wait_for_function("t => document.querySelector('#card-title')?.textContent === t", arg=title,
                                   timeout=300_000, polling="raf")
            samples.append(time.perf_counter() - saved)
            time.sleep(0.5)
    finally:
        crs.write_text(original, encoding="utf-8")
    return samples


def report(label: str, samples: list[float], reloads: list[float]) -> None:
    ordered = sorted(samples)
    print(f"  {label:20s} save -> shown: median {statistics.median(ordered):5.2f} s  min {ordered[0]:5.2f} s  "
          f"max {ordered[-1]:5.2f} s  ({len(ordered)} edits)")
    if reloads:
        print(f"  {'':20s} of which the reload (read, validate, index, swap; as `cytobot run`): "
              f"median {statistics.median(reloads):5.2f} s")


def main() -> None:
    from playwright.sync_api import sync_playwright

    print(f"python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("save -> the card on the page shows the edit (polling 0.25 s + settle interval + load + event + redraw):")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        root = Path(tmp)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        bundled = root / "bundled"
        shutil.copytree(bundled_content_dir(), bundled)
        reloads: list[float] = []
        proc, url = start(bundled, root / "cache", reloads)
        try:
            report("bundled pack", measure(page, bundled / "topics" / "crs.yaml", url, 10), reloads)
        finally:
            stop(proc)
        big = root / "big"
        big.mkdir()
        generate_pack(big, 10_000)
        t0 = time.perf_counter()
        reloads = []
        proc, url = start(big, root / "cache", reloads)
        print(f"  (10,000-topic pack: studio started in {time.perf_counter() - t0:.1f} s)")
        try:
            report("10,000-topic pack", measure(page, big / "crs.yaml", url, 4), reloads)
        finally:
            stop(proc)
        browser.close()


if __name__ == "__main__":
    main()
