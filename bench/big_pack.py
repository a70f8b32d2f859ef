"""Big packs (issue 19): issue 19's table as ratios measured side by side in one run, on the
generated 10,000-topic pack (`bench.core.generate_pack`) and on the bundled pack.

Everything is measured on a real `cytobot run` subprocess, driven only through its CLI, its
HTTP port (loopback) and signals, so the same script measures any version of the code:

- parse floor: PyYAML's C loader (CSafeLoader) over the same files, in a subprocess of its own
  (its wall time: interpreter start, `import yaml`, every file parsed; the parse alone is
  printed beside it). The floor is measured next to each cold start, and the ratio is taken
  per pair, so drift on a noisy machine hits both alike.
- cold start: `cytobot run` with no platform token, CYTOBOT_CACHE_DIR=off (an empty pack
  cache), from spawning the process until GET /readyz answers 200.
- resident memory once ready: VmRSS from /proc, against the pack's size on disk (its YAML files).
- reloads: files edited, then SIGHUP, until /metrics counts the reload
  (`cytobot_content_reloads_total{outcome="loaded"}`, or `outcome="refused"` for the broken
  edit); the process's own figure from its log line ("content reloaded ... in X s") beside it.
  A one-file edit, a ten-file edit, and an edit that breaks the pack (a source id no file
  defines). Peak memory during each reload: VmHWM after resetting it (/proc/PID/clear_refs)
  just before the SIGHUP, plus VmRSS sampled every 10 ms.
- first question on a fresh pack: `cytobot run` in Slack HTTP mode against the loopback fake
  of Slack (tests/fakes), a signed `/crs search ...` as soon as /readyz says 200, timed until
  its answer reaches the response_url; then five more searches (other words) for the steady figure.

Run: .venv/bin/python -m bench.big_pack [--topics 10000] [--repeat 1] [--skip-bundled] [--skip-big]
Bounded: every wait has a timeout; the whole run takes a few minutes on a 10k pack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.core import generate_pack
from bot.loader import bundled_content_dir
from tests.fakes.bot_process import BotProcess, platform_env
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_signing import signed_headers, slash_command_body

READY_TIMEOUT = 300.0  # seconds a cold start may take before the run gives up
RELOAD_TIMEOUT = 300.0
ANSWER_TIMEOUT = 120.0
SAMPLE_EVERY = 0.01  # seconds between VmRSS samples during a reload
FLOOR_SCRIPT = """
import sys, time, yaml
t0 = time.perf_counter()
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        yaml.load(f, Loader=yaml.CSafeLoader)
print(time.perf_counter() - t0)
"""
RELOADED = re.compile(r"content reloaded \(SIGHUP\).* in ([0-9.]+) s")
FIRST_QUESTION = "search cytokine storm therapy"
LATER_QUESTIONS = ("search fever hypotension", "search ferritin macrophage", "search steroid infusion dose",
                   "search oxygen hypoxia lung", "search interleukin receptor antibody")


def say(text: str) -> None:
    print(text, flush=True)


def yaml_files(directory: Path) -> list[Path]:
    """The files a pack consists of (what the loader and the reloader's fingerprint read)."""
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: 5 > /proc/PID/clear_refs); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def mb(n: float) -> str:
    return f"{n / 2**20:.0f} MB"


async def parse_floor(files: list[Path]) -> tuple[float, float]:
    """(wall seconds of the whole subprocess, seconds of the parse alone)."""
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", FLOOR_SCRIPT, *map(str, files),
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), READY_TIMEOUT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError("the parse-floor subprocess failed")
    return wall, float(out.decode().strip())


def edit_title(path: Path, mark: str) -> None:
    """A real edit: the first topic's title gets a suffix (the file is parsed and dumped again)."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    data["topics"][0]["title"] = f"{data['topics'][0]['title']} ({mark})"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000), encoding="utf-8")


def break_sources(path: Path) -> None:
    """A broken edit: the first topic cites a source id no file defines."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    data["topics"][0]["sources"] = [*data["topics"][0].get("sources", []), "no-such-source-anywhere"]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000), encoding="utf-8")


def topic_files(pack: Path) -> list[Path]:
    """Files holding topics, largest first (the generated ones on the big pack)."""
    files = [p for p in yaml_files(pack) if "topics:" in p.read_text(encoding="utf-8")[:200]]
    return sorted(files, key=lambda p: (-p.stat().st_size, p.name))


@dataclass
class Reload:
    label: str
    outcome: str
    seconds: float  # SIGHUP until /metrics counted it
    logged: float | None  # the process's own figure, from its log line
    steady: int  # VmRSS just before
    peak: int  # VmHWM after reset, or the sampled peak
    sampled: int


@dataclass
class PackFigures:
    name: str
    files: int
    size: int
    floors: list[tuple[float, float]] = field(default_factory=list)
    colds: list[float] = field(default_factory=list)
    rss_ready: list[int] = field(default_factory=list)
    reloads: list[Reload] = field(default_factory=list)
    slack_ready: float | None = None
    first: tuple[float, float] | None = None  # (ack, answer) seconds of the first question
    later: list[tuple[float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_env(pack: Path, tmp: Path) -> dict[str, str]:
    return {
        "CYTOBOT_CONTENT_DIR": str(pack),
        "CYTOBOT_CONTENT_POLL_SECONDS": "0",  # reloads on SIGHUP only
        "CYTOBOT_CACHE_DIR": "off",  # an empty pack cache: every start and reload loads the YAML
        "CYTOBOT_DATABASE_URL": f"sqlite:///{tmp / 'daily.db'}",
        "CYTOBOT_LOG_LEVEL": "INFO",
    }


async def reloads_counted(bot: BotProcess) -> tuple[float, float]:
    samples = await bot.metrics()
    get = lambda outcome: samples.get(("cytobot_content_reloads_total", (("outcome", outcome),)), 0.0)  # noqa: E731
    return get("loaded"), get("refused")


async def one_reload(bot: BotProcess, label: str) -> Reload:
    pid = bot.proc.pid
    before_loaded, before_refused = await reloads_counted(bot)
    steady = proc_status(pid)["VmRSS"]
    hwm_ok = reset_peak(pid)
    sampled = steady
    logged_before = len(RELOADED.findall(bot.output))
    t0 = time.perf_counter()
    bot.signal(signal.SIGHUP)
    outcome = ""
    last_poll = 0.0
    while True:
        now = time.perf_counter()
        if now - t0 > RELOAD_TIMEOUT:
            raise RuntimeError(f"reload ({label}) not counted within {RELOAD_TIMEOUT:.0f} s:\n{bot.output[-3000:]}")
        with contextlib.suppress(OSError, KeyError):
            sampled = max(sampled, proc_status(pid)["VmRSS"])
        if now - last_poll >= 0.05:  # /metrics every 50 ms, memory every 10 ms
            last_poll = now
            loaded, refused = await reloads_counted(bot)
            if loaded > before_loaded:
                outcome = "loaded"
                break
            if refused > before_refused:
                outcome = "refused"
                break
        await asyncio.sleep(SAMPLE_EVERY)
    seconds = time.perf_counter() - t0
    status = proc_status(pid)
    peak = max(status["VmHWM"], sampled) if hwm_ok else sampled
    await asyncio.sleep(0.1)  # the log line follows the metric by a moment
    logged_all = RELOADED.findall(bot.output)
    logged = float(logged_all[-1]) if len(logged_all) > logged_before else None
    return Reload(label, outcome, seconds, logged, steady, peak, sampled)


async def cold_and_reloads(fig: PackFigures, pack: Path, tmp: Path, files: list[Path], repeat: int, edits: bool) -> None:
    for attempt in range(repeat):
        floor = await parse_floor(files)
        fig.floors.append(floor)
        say(f"  [{fig.name}] parse floor: {floor[0]:.2f} s wall ({floor[1]:.2f} s parsing)")
        t0 = time.perf_counter()
        bot = await BotProcess.start(run_env(pack, tmp), cwd=tmp)
        try:
            await bot.wait_until("/readyz", timeout=READY_TIMEOUT)
            cold = time.perf_counter() - t0
            fig.colds.append(cold)
            rss = proc_status(bot.proc.pid)["VmRSS"]
            fig.rss_ready.append(rss)
            say(f"  [{fig.name}] cold start to /readyz 200: {cold:.2f} s ({cold / floor[0]:.1f}x the floor); "
                f"VmRSS once ready {mb(rss)} ({rss / fig.size:.1f}x the pack)")
            if edits and attempt == repeat - 1:
                await edit_and_reload(fig, bot, pack)
            bot.signal(signal.SIGTERM)
            code = await bot.wait(60)
            if code != 0:
                fig.notes.append(f"cytobot run exited {code} after SIGTERM")
        finally:
            await bot.close()


async def edit_and_reload(fig: PackFigures, bot: BotProcess, pack: Path) -> None:
    candidates = topic_files(pack)
    marks = itertools.count(1)
    one = candidates[:1]
    ten = candidates[1:11] if len(candidates) >= 11 else candidates[:10]
    if len(ten) < 10:
        fig.notes.append(f"the ten-file edit touched {len(ten)} files (the pack has {len(candidates)} topic files)")
    plan = [("one file edited", one, edit_title), (f"{len(ten)} files edited", ten, edit_title),
            ("broken edit (refused)", one[:1], break_sources)]
    for label, targets, change in plan:
        saved = {p: p.read_bytes() for p in targets}
        for p in targets:
            if change is edit_title:
                change(p, f"edited {next(marks)}")
            else:
                change(p)
        result = await one_reload(bot, label)
        fig.reloads.append(result)
        logged = f", the process says {result.logged:.2f} s" if result.logged is not None else ""
        say(f"  [{fig.name}] {label}: SIGHUP -> {result.outcome} in {result.seconds:.2f} s{logged}; "
            f"VmRSS {mb(result.steady)} before, peak {mb(result.peak)} ({result.peak / result.steady:.2f}x)")
        if change is break_sources:
            for p, data in saved.items():
                p.write_bytes(data)  # the broken file put back (no reload needed: the old pack is served)


async def first_question(fig: PackFigures, pack: Path, tmp: Path) -> None:
    slack = await FakeSlack().start()
    slack.record = False
    env = run_env(pack, tmp) | platform_env(slack, None)
    ids = itertools.count()
    loop = asyncio.get_running_loop()
    try:
        t0 = time.perf_counter()
        bot = await BotProcess.start(env, cwd=tmp)
        try:
            await bot.wait_until("/readyz", timeout=READY_TIMEOUT)
            fig.slack_ready = time.perf_counter() - t0
            say(f"  [{fig.name}] Slack HTTP mode ready in {fig.slack_ready:.2f} s; asking the first question")

            async def ask(line: str) -> tuple[float, float]:
                rid = f"q{next(ids)}"
                waiter: asyncio.Future[float] = loop.create_future()
                slack.response_waiters[rid] = waiter
                body = slash_command_body(line, slack.response_url(rid))
                start = time.perf_counter()
                status = await bot.post("/slack/events", body, signed_headers(body))
                acked = time.perf_counter()
                if status != 200:
                    raise RuntimeError(f"/slack/events answered {status}")
                answered = await asyncio.wait_for(waiter, ANSWER_TIMEOUT)
                return acked - start, answered - start

            fig.first = await ask(FIRST_QUESTION)
            for line in LATER_QUESTIONS:
                fig.later.append(await ask(line))
            steady = statistics.median(a for _, a in fig.later)
            say(f"  [{fig.name}] first question: ack {fig.first[0] * 1000:.0f} ms, answer {fig.first[1] * 1000:.0f} ms; "
                f"later ones: median answer {steady * 1000:.0f} ms")
            bot.signal(signal.SIGTERM)
            await bot.wait(60)
        finally:
            await bot.close()
    finally:
        await slack.stop()


async def measure(name: str, pack: Path, tmp: Path, repeat: int) -> PackFigures:
    files = yaml_files(pack)
    fig = PackFigures(name, len(files), sum(p.stat().st_size for p in files))
    say(f"{name}: {fig.files} YAML files, {fig.size / 1e6:.2f} MB on disk")
    await cold_and_reloads(fig, pack, tmp, files, repeat, edits=True)
    await first_question(fig, pack, tmp)
    return fig


def table(figs: list[PackFigures]) -> None:
    say("\n| pack | figure | measured | ratio | goal (issue 19) |")
    say("|---|---|---|---|---|")
    for f in figs:
        floor = statistics.median(w for w, _ in f.floors)
        ratios = [c / w for c, (w, _) in zip(f.colds, f.floors)]
        say(f"| {f.name} | parse floor (CSafeLoader, subprocess) | {floor:.2f} s wall "
            f"({statistics.median(p for _, p in f.floors):.2f} s parsing) | 1 | |")
        say(f"| {f.name} | cold start to /readyz 200 | {statistics.median(f.colds):.2f} s | "
            f"{statistics.median(ratios):.1f}x the floor{' (median of per-pair ratios)' if len(ratios) > 1 else ''} | <= 2x |")
        rss = statistics.median(f.rss_ready)
        say(f"| {f.name} | resident memory once ready | {mb(rss)} | {rss / f.size:.1f}x the pack ({f.size / 1e6:.2f} MB) | <= 8x |")
        for r in f.reloads:
            logged = f" (process: {r.logged:.2f} s)" if r.logged is not None else ""
            goal = "<= 1.5 s" if r.label == "one file edited" else ""
            say(f"| {f.name} | {r.label}, SIGHUP until {r.outcome} | {r.seconds:.2f} s{logged} | "
                f"{r.seconds / floor:.2f}x the floor | {goal} |")
            say(f"| {f.name} | peak memory during that reload | {mb(r.peak)} | {r.peak / r.steady:.2f}x the steady "
                f"{mb(r.steady)} | <= 1.3x |")
        if f.first is not None and f.later:
            steady = statistics.median(a for _, a in f.later)
            say(f"| {f.name} | first question (Slack HTTP, `/crs {FIRST_QUESTION}`) | ack {f.first[0] * 1000:.0f} ms, "
                f"answer {f.first[1] * 1000:.0f} ms | {f.first[1] / steady:.1f}x the median of the next "
                f"{len(f.later)} ({steady * 1000:.0f} ms) | no index work in the request path |")
        for note in f.notes:
            say(f"note ({f.name}): {note}")


async def run(topics: int, repeat: int, bundled: bool, big: bool) -> None:
    figs = []
    with tempfile.TemporaryDirectory(prefix="cytobot-bigpack-") as tmp_name:
        tmp = Path(tmp_name)
        if big:
            pack = tmp / "big"
            pack.mkdir()
            t0 = time.perf_counter()
            generate_pack(pack, topics)
            say(f"generated a {topics:,}-topic pack in {time.perf_counter() - t0:.1f} s")
            figs.append(await measure(f"{topics // 1000}k topics", pack, tmp, repeat))
        if bundled:
            pack = tmp / "bundled"
            shutil.copytree(bundled_content_dir(), pack)  # a copy: the edits never touch the repository
            figs.append(await measure("bundled", pack, tmp, max(repeat, 3)))
    table(figs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.big_pack")
    p.add_argument("--topics", type=int, default=10_000, help="topics in the generated pack")
    p.add_argument("--repeat", type=int, default=1, help="cold starts (each paired with a floor) on the big pack")
    p.add_argument("--skip-bundled", action="store_true")
    p.add_argument("--skip-big", action="store_true")
    a = p.parse_args(argv)
    say(f"python {sys.version.split()[0]}, PyYAML {yaml.__version__}, C loader: {hasattr(yaml, 'CSafeLoader')}")
    asyncio.run(run(min(a.topics, 100_000), max(1, min(a.repeat, 10)), not a.skip_bundled, not a.skip_big))
    return 0


if __name__ == "__main__":
    sys.exit(main())
