"""Migrations shipped in the package: from empty, `cytobot db upgrade` / `db current` from any
directory, and a database a newer cytobot migrated is refused with a clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from alembic import command
from sqlalchemy import inspect, text

from bot.daily import migrate
from bot.daily.database import DatabaseUrlError, async_url, create_engine
from bot.daily.migrate import DatabaseTooNew
from bot.daily.store import Store

CYTOBOT = [sys.executable, "-m", "adapters.cli"]


def cytobot(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CYTOBOT_DATABASE_URL": url, "COLUMNS": "100"}
    return subprocess.run([*CYTOBOT, *args], capture_output=True, text=True, env=env, timeout=60, cwd="/")


async def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_then_current(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert await migrate.current(engine) == ()
        assert await migrate.upgrade(engine) == migrate.head()
        assert await migrate.current(engine) == (migrate.head(),)
        assert await migrate.upgrade(engine) == migrate.head()  # a second upgrade is a no-op
    finally:
        await engine.dispose()
    assert {"daily_subscriptions", "daily_deliveries", "daily_platform_pauses", "seen_events", "alembic_version"} <= await tables(db_url)


async def test_a_database_of_the_first_release_upgrades_keeping_its_data(db_url: str) -> None:
    """0001 -> 0002 adds `seen_events` beside the daily-fact tables and leaves their rows alone;
    0002 goes back down cleanly."""
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(migrate._config(c), "0001"))
            await conn.execute(text("INSERT INTO daily_platform_pauses (platform, reason, paused_at) "
                                    "VALUES ('slack', 'token_revoked', '2026-05-01 09:00:00')"))
        assert await migrate.current(engine) == ("0001",)
        assert "seen_events" not in await tables(db_url)
        assert await migrate.upgrade(engine) == migrate.head()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT reason FROM daily_platform_pauses"))).scalars().all() == ["token_revoked"]
            indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("seen_events"))
        assert [i["column_names"] for i in indexes] == [["seen_at"]]
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(migrate._config(c), "0001"))
        assert await migrate.current(engine) == ("0001",)
    finally:
        await engine.dispose()
    assert "seen_events" not in await tables(db_url)


async def test_a_newer_database_is_refused_and_left_untouched(db_url: str) -> None:
    store = await Store.open(db_url)
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    await store.close()
    with pytest.raises(DatabaseTooNew) as refused:
        await Store.open(db_url)
    message = str(refused.value)
    assert "9999_from_the_future" in message and "newer cytobot" in message and migrate.head() in message
    engine = create_engine(db_url)
    try:
        assert await migrate.current(engine) == ("9999_from_the_future",)
    finally:
        await engine.dispose()
    # The command line says the same, and exits non-zero.
    current = cytobot("db", "current", url=db_url)
    assert current.returncode == 0 and "newer than this cytobot" in current.stdout
    upgrade = cytobot("db", "upgrade", url=db_url)
    assert upgrade.returncode == 1 and "9999_from_the_future" in upgrade.stderr and "Traceback" not in upgrade.stderr
    console = subprocess.run([*CYTOBOT, "console"], input="help\n", capture_output=True, text=True, timeout=60, cwd="/",
                             env={**os.environ, "CYTOBOT_DATABASE_URL": db_url, "COLUMNS": "200"})
    assert console.returncode == 1 and "9999_from_the_future" in console.stdout and "How to use" not in console.stdout
    ask = cytobot("ask", "daily status", "--format", "json", url=db_url)
    assert ask.returncode == 0 and "newer cytobot" in json.loads(ask.stdout)["text"]


def test_db_commands_from_any_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/nested/dir/cytobot.db"
    before = cytobot("db", "current", url=url)
    assert before.returncode == 0 and "no schema yet" in before.stdout
    up = cytobot("db", "upgrade", url=url)
    assert up.returncode == 0 and f"at revision {migrate.head()} (head)" in up.stdout and "upgraded from empty" in up.stdout
    assert (tmp_path / "nested" / "dir" / "cytobot.db").exists()  # the directory was created
    after = cytobot("db", "current", url=url)
    assert after.returncode == 0 and f"{migrate.head()} (head)" in after.stdout


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url", "sqlite+foo:///x"])
def test_unusable_urls_get_one_clear_line(url: str) -> None:
    result = cytobot("db", "upgrade", url=url)
    assert result.returncode == 78  # EX_CONFIG: a setting is wrong
    assert "CYTOBOT_DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_postgres_is_one_clear_line() -> None:
    result = cytobot("db", "current", url="postgresql://nobody:secret@127.0.0.1:9/none")
    assert result.returncode == 1 and "cannot open the daily-facts database" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_urls_map_to_the_async_drivers() -> None:
    assert async_url("sqlite:///./data/cytobot.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(DatabaseUrlError):
        async_url("mysql://u@h/db")


def test_migrations_ship_inside_the_package() -> None:
    assert migrate.MIGRATIONS.is_relative_to(migrate.Path(migrate.__file__).parent)
    assert (migrate.MIGRATIONS / "env.py").exists() and list((migrate.MIGRATIONS / "versions").glob("*.py"))
