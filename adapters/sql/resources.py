"""How the runtime opens and closes this package's clients: the database engine, and the
pgvector index on it. Each is an async context manager the container makes a `Resource` of.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from adapters.settings import DatabaseSettings
from adapters.sql.database import Database
from domain.errors import ConfigurationError

if TYPE_CHECKING:
    from adapters.sql.pgvector_index import PgVectorIndex


@asynccontextmanager
async def open_database(settings: DatabaseSettings) -> AsyncIterator[Database]:
    """The engine DATABASE__URL names (no I/O until the first query), disposed on close."""
    database = Database.from_url(settings.url, pool_size=settings.pool_size, echo=settings.echo)
    try:
        yield database
    finally:
        await database.close()


@asynccontextmanager
async def open_pgvector_index(database: Database | None, dim: int) -> AsyncIterator[PgVectorIndex]:
    """The pgvector index in the configured PostgreSQL database, ready for `dim`-sized
    vectors; a database that is not PostgreSQL fails start-up naming the setting."""
    if database is None or database.dialect != "postgresql":
        raise ConfigurationError(
            "Invalid setting MEMORY__VECTOR_BACKEND: pgvector needs DATABASE__URL to be "
            "postgresql+asyncpg://…",
            details={"variable": "MEMORY__VECTOR_BACKEND"},
        )
    from adapters.sql.pgvector_index import PgVectorIndex  # pgvector: only if chosen

    index = PgVectorIndex(database)
    await index.ensure_ready(dim)
    yield index
