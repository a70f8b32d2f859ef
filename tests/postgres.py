"""A fresh PostgreSQL database per test, on the server CYTOBOT_TEST_POSTGRES_URL names.

Several suites run against one server at the same time, so every test gets its own database
with a random name, dropped afterwards. When the variable is set and the server cannot be
reached, the test fails (CI must never pass by skipping); when it is unset, PostgreSQL tests
are skipped and say how to run them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

ENV = "CYTOBOT_TEST_POSTGRES_URL"


def base_url() -> str | None:
    return os.environ.get(ENV, "").strip() or None


def require_base_url() -> str:
    url = base_url()
    if url is None:
        pytest.skip(f"{ENV} is not set (CI sets it, e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url


def _dsn(url: str, database: str | None = None) -> str:
    """A plain libpq URL for asyncpg (no +driver), optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def fresh_database(url: str) -> AsyncIterator[str]:
    """Create a database with a random name on `url`'s server; yield its URL; drop it."""
    import asyncpg

    name = f"cytobot_test_{secrets.token_hex(6)}"
    try:
        admin = await asyncpg.connect(_dsn(url), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"{ENV}={make_url(url).render_as_string(hide_password=True)} is set but the server is unreachable: {exc}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _dsn(url, name)
    finally:
        admin = await asyncpg.connect(_dsn(url), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
