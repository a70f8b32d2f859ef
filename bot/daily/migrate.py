"""Schema migrations, run by cytobot itself: at start-up and by `cytobot db upgrade`.

Alembic is configured in code with the migrations shipped inside this package, so they run the
same from a checkout, an installed wheel or a container, whatever the working directory. Every
upgrade happens in one transaction under a lock (PostgreSQL advisory lock, SQLite's write lock),
so replicas starting together migrate once. A database migrated by a newer cytobot is refused:
running old code on a newer schema could post twice or lose data.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed number: the key of the PostgreSQL advisory lock that serialises migrations.
_PG_LOCK = 0x63797462  # "cytb"


class DatabaseTooNew(RuntimeError):
    """The database carries a schema revision this version of cytobot does not know."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this code ships."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def known() -> set[str]:
    """Every revision this code ships."""
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def _current(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def _refuse_newer(connection: Connection, where: str) -> None:
    unknown = [revision for revision in _current(connection) if revision not in known()]
    if unknown:
        raise DatabaseTooNew(
            f"the database {where} is at schema revision {', '.join(unknown)}, which this cytobot does not know "
            f"(it knows up to {head()}): a newer cytobot has upgraded it. Run that newer version, or point "
            "CYTOBOT_DATABASE_URL at another database; this one is left untouched."
        )


def _upgrade(connection: Connection, where: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    _refuse_newer(connection, where)
    command.upgrade(_config(connection), "head")


async def upgrade(engine: AsyncEngine, where: str = "") -> str:
    """Bring the schema to this code's head (a no-op when it is there); returns the revision.
    Raises DatabaseTooNew for a database a newer cytobot migrated."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, where)
    return head()


async def current(engine: AsyncEngine) -> tuple[str, ...]:
    """The revision(s) the database is at; empty for a database never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def check(engine: AsyncEngine, where: str = "") -> None:
    """Raise DatabaseTooNew if a newer cytobot migrated this database (without changing it)."""
    async with engine.connect() as connection:
        await connection.run_sync(_refuse_newer, where)
