"""Run the Alembic migrations from code: `mai db upgrade`, start-up checks, test fixtures.

Alembic's command API is synchronous while our drivers are async. Rather than nest event
loops or hop threads, we open the async connection here and hand its sync facade to
`migrations/env.py` through `Config.attributes["connection"]` (Alembic's documented
connection-sharing recipe), running the command under `AsyncConnection.run_sync`. That works
the same from the CLI's loop and from inside pytest-asyncio's.

The Config is built in code with an absolute `script_location`, so no alembic.ini and no
particular working directory are needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str, embedding_dim: int | None = None) -> Config:
    """An Alembic Config for `url` that works from any working directory.

    `embedding_dim` sizes `memories.embedding`; None leaves it to `MEMORY__EMBEDDING_DIM`.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # `%` is ConfigParser interpolation syntax; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if embedding_dim is not None:
        config.attributes["embedding_dim"] = embedding_dim
    return config


def _engine(url: str) -> AsyncEngine:
    """A throwaway engine for migrations.

    Deliberately not `Database.from_url`: its SQLite `foreign_keys=ON` pragma would make the
    table rebuilds of batch migrations cascade-delete child rows.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return create_async_engine(url, poolclass=pool.NullPool)


async def _run(url: str, embedding_dim: int | None, action: Any, *args: Any) -> Any:
    config = alembic_config(url, embedding_dim)
    engine = _engine(url)
    try:
        async with engine.begin() as conn:

            def run(sync_conn: Connection) -> Any:
                config.attributes["connection"] = sync_conn
                return action(config, *args)

            return await conn.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head", embedding_dim: int | None = None) -> None:
    """Migrate the database at `url` up to `revision`, creating a SQLite file's directory."""
    await _run(url, embedding_dim, command.upgrade, revision)


async def downgrade(url: str, revision: str = "base", embedding_dim: int | None = None) -> None:
    """Migrate the database at `url` down to `revision` (default: drop everything)."""
    await _run(url, embedding_dim, command.downgrade, revision)


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None if it has never been migrated."""

    def read(config: Config) -> str | None:
        conn = config.attributes["connection"]
        return MigrationContext.configure(conn).get_current_revision()

    revision: str | None = await _run(url, None, read)
    return revision


def head_revision() -> str | None:
    """The newest revision in `migrations/versions` (no database needed)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
