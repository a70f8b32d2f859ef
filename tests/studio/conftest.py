"""Studio fixtures: packs to serve (copies, so edits never touch the bundled one) and a studio
served in-process on a loopback port, with its reloader running."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.reload import build_catalog
from adapters.studio.server import Studio
from bot.engine import Engine
from bot.loader import bundled_content_dir
from tests.conftest import MINI_PACK

HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
HOSTILE_BODY = "Fever.<script>window.__pwned = 1; alert(2)</script> [src-a]"


@pytest.fixture
def bundled_copy(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(bundled_content_dir(), target)
    return target


@pytest.fixture
def hostile_pack(tmp_path: Path) -> Path:
    """The mini pack with a topic titled as an HTML payload and a section body holding a script."""
    target = tmp_path / "hostile"
    shutil.copytree(MINI_PACK, target)
    topics = target / "topics.yaml"
    text = topics.read_text(encoding="utf-8")
    text = text.replace("title: Alpha condition", f"title: '{HOSTILE_TITLE}'", 1)
    text = text.replace("body: Fever, fatigue and low blood pressure (hypotension).", f"body: '{HOSTILE_BODY}'", 1)
    topics.write_text(text, encoding="utf-8")
    return target


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file()}


async def wait_for(predicate, what: str, attempts: int = 400, pause: float = 0.05) -> None:
    """Wait (bounded) until `predicate()` holds; fails saying what never happened."""
    for _ in range(attempts):
        if predicate():
            return
        await asyncio.sleep(pause)
    raise AssertionError(f"never happened: {what}")


class Served:
    def __init__(self, studio: Studio, client: TestClient, directory: Path):
        self.studio, self.client, self.directory = studio, client, directory

    async def text(self, path: str, **kwargs) -> str:
        response = await self.client.get(path, **kwargs)
        assert response.status == 200, (path, response.status)
        return await response.text()


async def serve_in_process(directory: Path, questions_file: Path | None = None) -> AsyncIterator[Served]:
    studio = Studio(Engine(build_catalog(directory)), directory, questions_file=questions_file, poll_seconds=0.05)
    server = TestServer(studio.app(), host="127.0.0.1")
    client = TestClient(server)
    await client.start_server()
    studio.allow("127.0.0.1", server.port)
    await studio.reloader.start()
    try:
        yield Served(studio, client, directory)
    finally:
        await studio.stop_following()
        await client.close()


@pytest.fixture
async def served(bundled_copy: Path) -> AsyncIterator[Served]:
    async for s in serve_in_process(bundled_copy, Path(__file__).resolve().parents[1] / "data" / "questions.yaml"):
        yield s


@pytest.fixture
async def served_hostile(hostile_pack: Path) -> AsyncIterator[Served]:
    async for s in serve_in_process(hostile_pack):
        yield s
