"""Alembic environment for the daily-fact tables.

cytobot runs migrations itself (`bot.daily.migrate`), on a connection it has already opened
and locked, so this file only hands that connection to Alembic; it never reads alembic.ini or
the working directory, which is what lets migrations run from an installed wheel.
"""

from __future__ import annotations

from alembic import context

from bot.daily.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `bot.daily.migrate` drives these migrations
    raise RuntimeError("run migrations with `cytobot db upgrade`, not the alembic command line")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
