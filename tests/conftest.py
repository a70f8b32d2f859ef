"""Shared fixtures: the bundled pack, loaded once, and engines with a fixed clock and seed."""

from __future__ import annotations

import atexit
import os
import random
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.catalog import Catalog
from bot.engine import Engine
from bot.loader import Pack, bundled_content_dir, load_pack

MINI_PACK = Path(__file__).parent / "data" / "minipack"

# The suite, and every cytobot process it starts, caches packs in a directory of its own
# (bot/cache.py creates it 0700), never in the user's ~/.cache. Set at import, not in a
# fixture: some test modules load packs while they are being collected.
_CACHE_ROOT = tempfile.mkdtemp(prefix="cytobot-test-cache-")
os.environ["CYTOBOT_CACHE_DIR"] = os.path.join(_CACHE_ROOT, "cytobot")
atexit.register(shutil.rmtree, _CACHE_ROOT, True)
FIXED_NOW = datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _private_database(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test (and every `cytobot` it starts) gets its own empty daily-facts database, never
    the developer's and never ./data in whatever directory the test runs from."""
    directory = tmp_path_factory.mktemp("db", numbered=True)
    monkeypatch.setenv("CYTOBOT_DATABASE_URL", f"sqlite:///{directory}/cytobot.db")


@pytest.fixture(autouse=True, scope="session")
def _no_dotenv():
    """Settings read in-process never pick up a developer's `.env` from the checkout."""
    import adapters.settings

    saved, adapters.settings.ENV_FILE = adapters.settings.ENV_FILE, None
    yield
    adapters.settings.ENV_FILE = saved


@pytest.fixture(scope="session")
def bundled_pack() -> Pack:
    return load_pack(bundled_content_dir())


@pytest.fixture(scope="session")
def catalog(bundled_pack: Pack) -> Catalog:
    return Catalog(bundled_pack)


@pytest.fixture
def engine(catalog: Catalog) -> Engine:
    return Engine(catalog, clock=lambda: FIXED_NOW, rng=random.Random(7))


@pytest.fixture
def mini_engine() -> Engine:
    return Engine.load(MINI_PACK, clock=lambda: FIXED_NOW, rng=random.Random(7))


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same test on SQLite and on PostgreSQL (a fresh database with a random name)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/daily.db"
        return
    from tests.postgres import fresh_database, require_base_url

    async with fresh_database(require_base_url()) as url:
        yield url


@pytest.fixture
async def postgres_url():
    """A freshly created PostgreSQL database (random name, dropped afterwards); see tests/postgres.py."""
    from tests.postgres import fresh_database, require_base_url

    async with fresh_database(require_base_url()) as url:
        yield url


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the question sets' results (tests/test_questions.py, tests/test_ward_questions.py)."""
    from tests import test_questions, test_ward_questions

    if test_questions.RESULTS:
        terminalreporter.section("questions in plain words (tests/data/questions.yaml)")
        for group, result in test_questions.RESULTS.items():
            terminalreporter.write_line(f"{group}: {result}")
    if test_ward_questions.RESULTS:
        terminalreporter.section("ward questions (tests/data/ward_questions.yaml)")
        for pack, result in test_ward_questions.RESULTS.items():
            terminalreporter.write_line(f"{pack}: {result}")
