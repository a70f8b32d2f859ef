"""Where the daily-fact data lives: the database URL and an async SQLAlchemy engine for it.

SQLite by default (one process, nothing to install), PostgreSQL for replicas. Operators write
the URLs they know (`sqlite:///…`, `postgresql://…`); the async drivers are filled in here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Table, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_URL = "sqlite:///./data/cytobot.db"
ENV = "CYTOBOT_DATABASE_URL"
SQLITE_BUSY_SECONDS = 30.0  # how long a writer waits for another process's write to finish
# PostgreSQL: how long connecting, and one statement, may take before it counts as a failure.
# Without them a database that accepts connections and never answers (a partition, a hung
# server) holds every caller for as long as TCP keeps the connection open.
CONNECT_TIMEOUT_ENV = "CYTOBOT_DATABASE_CONNECT_TIMEOUT"
STATEMENT_TIMEOUT_ENV = "CYTOBOT_DATABASE_STATEMENT_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_STATEMENT_TIMEOUT = 5.0

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class DatabaseUrlError(ValueError):
    """A CYTOBOT_DATABASE_URL this bot cannot use; the message says what would work."""


def database_url(env: Mapping[str, str] | None = None) -> str:
    """The configured URL as written (CYTOBOT_DATABASE_URL, else the SQLite default)."""
    env = os.environ if env is None else env
    return env.get(ENV, "").strip() or DEFAULT_URL


def timeouts(env: Mapping[str, str] | None = None) -> tuple[float, float]:
    """(connect, statement) timeouts in seconds, from CYTOBOT_DATABASE_CONNECT_TIMEOUT and
    CYTOBOT_DATABASE_STATEMENT_TIMEOUT (adapters.settings validates them at start-up)."""
    env = os.environ if env is None else env

    def read(name: str, default: float) -> float:
        raw = env.get(name, "").strip()
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise DatabaseUrlError(f"{name} must be a number of seconds such as 5; got {raw[:40]!r}") from None
        if not 0 < value <= 600:
            raise DatabaseUrlError(f"{name} must be more than 0 and at most 600 seconds; got {raw[:40]!r}")
        return value

    return read(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT), read(STATEMENT_TIMEOUT_ENV, DEFAULT_STATEMENT_TIMEOUT)


def async_url(url: str) -> URL:
    """`url` with its async driver: sqlite -> sqlite+aiosqlite, postgresql -> postgresql+asyncpg."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(
            f"{ENV} is not a database URL ({exc}); use e.g. sqlite:///./data/cytobot.db or postgresql://user@host/db"
        ) from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise DatabaseUrlError(
            f"{ENV} names {parsed.drivername!r}; cytobot stores daily facts in SQLite (sqlite:///path) or PostgreSQL (postgresql://…)"
        )
    return parsed.set(drivername=driver)


def describe(url: str | URL) -> str:
    """The URL for messages and logs, without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True) if isinstance(url, str) else url.render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for in-memory databases and other backends)."""
    if not url.drivername.startswith("sqlite"):
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str, *, connect_timeout: float | None = None, statement_timeout: float | None = None) -> AsyncEngine:
    """An async engine for `url`. For SQLite: the file's directory is created, writers wait for
    each other instead of failing, and transactions begin when we say so (not at the first
    write, as Python's sqlite3 would), so a claim's read and write are one transaction.
    For PostgreSQL: connecting, waiting for a pooled connection and each statement are bounded
    by the timeouts (default: the environment's, see `timeouts`)."""
    target = async_url(url)
    default_connect, default_statement = timeouts()
    connect_timeout = connect_timeout or default_connect
    statement_timeout = statement_timeout or default_statement
    path = sqlite_file(target)
    if target.drivername.startswith("sqlite"):
        if path is not None:
            path.expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Every use is a transaction that ends in COMMIT or ROLLBACK, so no reset is needed on return.
        engine = create_async_engine(target, connect_args={"timeout": SQLITE_BUSY_SECONDS}, pool_reset_on_return=None)
        _sqlite_transactions(engine)
        return engine
    return create_async_engine(
        target, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=connect_timeout,
        connect_args={"timeout": connect_timeout, "command_timeout": statement_timeout})


def dialect_insert(dialect: str, table: Table):  # type: ignore[no-untyped-def]
    """INSERT for `dialect` ("sqlite" or "postgresql"), with ON CONFLICT (both have it)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _sqlite_transactions(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection) -> None:  # type: ignore[no-untyped-def]
        # IMMEDIATE takes the write lock up front, so two processes queue on the busy timeout
        # instead of one of them failing when it upgrades a read lock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
