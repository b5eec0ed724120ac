"""The driver's own connection behind one small interface, for the hottest statements.

A `Driver` runs SQL text compiled once by SQLAlchemy (`statements.Prepared`) with positional
values already through the column types' processors: `fetch` (rows), `execute` (rows
affected) and `transaction` (commit on success, roll back on error). Two implementations:
`SqliteDriver` here (aiosqlite) and `AsyncpgDriver` (adapters/sql/asyncpg_driver.py, imported
only by a PostgreSQL database, so the embedded profile never loads asyncpg).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol


class Driver(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]: ...

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run one statement; how many rows it affected."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """The statements run inside as one transaction: committed when the block ends,
        rolled back if it raises."""
        ...


class SqliteDriver:
    """aiosqlite's connection: one trip to its thread per `fetch`, `execute` and commit
    (SQLAlchemy's execution makes three per statement: cursor, execute, close). The
    `sqlite3` module opens a transaction before the first write by itself."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        return list(await self._connection.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        cursor = await self._connection.execute(sql, params)
        return int(cursor.rowcount)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        try:
            yield
            await self._connection.commit()
        except BaseException:
            await self._connection.rollback()
            raise
