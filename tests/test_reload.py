"""Content reload in-process: valid packs swap in everywhere at once, broken ones change nothing,
triggers coalesce, the poller sees saves and symlink swaps, and the loop keeps answering."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from pathlib import Path

import pytest

from adapters.observe import Metrics
from adapters.reload import ContentReloader, fingerprint
from bench.core import generate_pack
from bot.engine import Engine
from bot.request import Request
from tests.conftest import MINI_PACK


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    content = tmp_path / "pack"
    shutil.copytree(MINI_PACK, content)
    return content


def bump(pack: Path, version: str) -> None:
    path = pack / "pack.yaml"
    path.write_text(re.sub(r'version: "[^"]*"', f'version: "{version}"', path.read_text()))


async def test_a_valid_edit_replaces_the_pack_in_every_engine(pack: Path) -> None:
    engines = [Engine.load(pack, prefix="/crs"), Engine.load(pack, prefix="/cyto")]
    metrics = Metrics()
    reloader = ContentReloader(engines, pack, poll_seconds=0, metrics=metrics)
    await reloader.start()
    generations = [e.generation for e in engines]
    bump(pack, "0.2")
    assert await reloader.reload("test")
    assert engines[0].catalog is engines[1].catalog  # one pack, indexed once
    assert engines[0].catalog.info.version == "0.2"
    assert all(e.generation > g for e, g in zip(engines, generations))
    assert "0.2" in str(engines[1].execute("about").to_dict())
    text = metrics.exposition().decode()
    assert 'cytobot_content_pack_info{id="mini",name="Mini pack",version="0.2"} 1.0' in text
    assert 'cytobot_content_reloads_total{outcome="loaded"} 1.0' in text


async def test_a_broken_edit_logs_every_problem_and_keeps_the_old_pack(pack: Path, caplog) -> None:
    engine = Engine.load(pack)
    metrics = Metrics()
    reloader = ContentReloader([engine], pack, poll_seconds=0, metrics=metrics)
    await reloader.start()
    old, generation = engine.catalog, engine.generation
    (pack / "topics.yaml").write_text("topics:\n  - id: Bad Id\n    title: x\n")
    (pack / "extra.yaml").write_text("pack: [unclosed\n")
    with caplog.at_level(logging.ERROR, logger="cytobot.content"):
        assert not await reloader.reload("test")
    assert engine.catalog is old and engine.generation == generation
    assert not engine.execute("topic alpha").is_error
    lines = caplog.text
    assert "refused" in lines and "still serving Mini pack v0.1" in lines
    assert "topics.yaml:2:" in lines and "extra.yaml:2: YAML syntax error" in lines
    assert len([r for r in caplog.records if r.getMessage().startswith("  ")]) == 5  # each problem, one line
    assert 'cytobot_content_reloads_total{outcome="refused"} 1.0' in metrics.exposition().decode()


async def test_triggers_during_a_reload_coalesce_into_one_more(pack: Path, monkeypatch) -> None:
    import threading

    from adapters import reload as reload_module

    gate, entered = threading.Event(), threading.Event()
    real = reload_module.build_catalog

    def held(directory: Path, *rest):  # the real load, held until the test has sent more triggers
        entered.set()
        gate.wait(10)
        return real(directory, *rest)

    monkeypatch.setattr(reload_module, "build_catalog", held)
    engine = Engine.load(pack)
    reloader = ContentReloader([engine], pack, poll_seconds=0)
    await reloader.start()
    bump(pack, "0.2")
    for _ in range(3):
        reloader.request("before")  # before the load starts: all served by it
    await asyncio.to_thread(entered.wait, 10)
    bump(pack, "0.3")
    for _ in range(5):
        reloader.request("during")  # during the load: one more reload after it
    gate.set()
    await reloader._running
    assert reloader.reloads == 2
    assert engine.catalog.info.version == "0.3"


def test_fingerprint_sees_saves_additions_and_symlink_swaps(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(MINI_PACK, a)
    shutil.copytree(MINI_PACK, b)
    bump(b, "0.9")
    live = tmp_path / "live"
    live.symlink_to(a)
    first = fingerprint(live)
    assert first and first == fingerprint(live)
    live.unlink()
    live.symlink_to(b)  # a Kubernetes ConfigMap update swaps a symlink like this
    assert fingerprint(live) != first
    (b / "notes.txt").write_text("not part of a pack")
    second = fingerprint(live)
    assert fingerprint(live) == second
    (b / "more.yaml").write_text("facts: []\n")
    assert fingerprint(live) != second
    assert fingerprint(tmp_path / "missing") == ()


async def test_the_poller_reloads_a_saved_edit(pack: Path) -> None:
    engine = Engine.load(pack)
    reloader = ContentReloader([engine], pack, poll_seconds=0.02)
    await reloader.start()
    try:
        bump(pack, "0.3")
        for _ in range(500):
            if engine.catalog.info.version == "0.3":
                break
            await asyncio.sleep(0.01)
        assert engine.catalog.info.version == "0.3"
    finally:
        reloader.task.cancel()
        await reloader.close()


async def test_commands_are_answered_while_a_big_pack_loads(tmp_path: Path) -> None:
    """The load runs in a thread: the loop keeps answering from the old pack until the swap."""
    big = tmp_path / "big"
    big.mkdir()
    generate_pack(big, 400)
    engine = Engine.load(MINI_PACK)
    reloader = ContentReloader([engine], big, poll_seconds=0)
    reload = asyncio.create_task(reloader.reload("test"))
    answered = 0
    while not reload.done():
        reply = await engine.handle(Request.text("topic alpha"))
        answered += 0 if reply.is_error else 1
        await asyncio.sleep(0)
    assert await reload
    assert answered > 0  # the loop was never blocked for the whole load
    assert not engine.execute("topic t321").is_error


async def test_an_edit_made_while_the_served_pack_loads_is_not_missed(pack: Path) -> None:
    """The watcher's baseline is what the served pack was read from: an edit after that read
    (here, before the watcher even starts, as between "serving" and its first look) is loaded."""
    from adapters.reload import load_for_serving

    catalog, baseline, real = load_for_serving(pack, cache_dir=None)
    assert real == pack.resolve() and catalog.info.version == "0.1"
    engine = Engine(catalog)
    bump(pack, "0.4.1")  # the edit lands in the gap
    reloader = ContentReloader([engine], pack, poll_seconds=0.02, baseline=baseline)
    await reloader.start()
    try:
        for _ in range(500):
            if engine.catalog.info.version == "0.4.1":
                break
            await asyncio.sleep(0.01)
        assert engine.catalog.info.version == "0.4.1"
    finally:
        reloader.task.cancel()
        await reloader.close()


async def test_a_reload_reads_the_symlinks_target_of_the_moment_and_says_which(tmp_path: Path, caplog) -> None:
    a, b, live = tmp_path / "a", tmp_path / "b", tmp_path / "live"
    shutil.copytree(MINI_PACK, a)
    shutil.copytree(MINI_PACK, b)
    bump(b, "0.9")
    live.symlink_to(a)
    engine = Engine.load(live)
    reloader = ContentReloader([engine], live, poll_seconds=0, cache_dir=None)
    await reloader.start()
    swap = tmp_path / "live.new"
    swap.symlink_to(b)
    swap.replace(live)  # what `ln -sfn b live` does: an atomic rename over the link
    with caplog.at_level(logging.INFO, logger="cytobot.content"):
        assert await reloader.reload("SIGHUP")
    assert engine.catalog.info.version == "0.9"
    assert f"from {b} (through {live})" in caplog.text
