"""Alembic environment: async engines, PostgreSQL (asyncpg) and SQLite (aiosqlite).

Two ways in:
- `adapters.sql.migrate` (the `mai db upgrade` CLI, test fixtures) opens an async connection
  itself and hands its sync facade over in `config.attributes["connection"]`; we run on it
  directly, inside the caller's event loop, with no nested loop or thread.
- The plain `alembic` command has no loop yet, so we start one with `asyncio.run`.

The URL is `sqlalchemy.url` when set (alembic.ini or the programmatic Config), else
`DATABASE__URL` from the settings.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.settings import load_settings
from adapters.sql.tables import metadata

config = context.config

if config.config_file_name is not None:  # the plain `alembic` command; never from code
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or load_settings().database.url


def _configure(dialect_name: str, **kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=dialect_name == "sqlite",
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade head --sql`) without a database."""
    url = make_url(database_url())
    _configure(
        url.get_backend_name(), url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    _configure(connection.dialect.name, connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    # NullPool and no SQLite pragmas on purpose: batch mode drops and recreates tables, and
    # with `foreign_keys=ON` dropping a parent table would cascade-delete its children.
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    else:
        do_run_migrations(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
