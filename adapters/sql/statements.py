"""Core statements run on the driver's connection itself, for the hottest reads and writes.

The statements are SQLAlchemy's own, compiled once for the dialect, and every value goes
through its column type's processors, so rows are written and read exactly as SQLAlchemy
would; they run through `Database.driver()` (adapters/sql/drivers.py: aiosqlite or asyncpg).

SQLite: SQLAlchemy's aiosqlite adapter makes three trips to the connection's thread per
statement (cursor, execute, close) and two more per transaction (commit, the pool's reset);
each trip wakes two threads. A chat turn's two message writes (touch the conversation,
insert the message, commit) made 16 trips, on the driver's connection 8; a read (the
request's session, the turn's conversation, memory search's full text) 5, here 2.
PostgreSQL: a read was six round trips (the pool's pre-ping: BEGIN, `;`, ROLLBACK; then
BEGIN, SELECT, ROLLBACK), here one; a message write seven, here one (conversations.py);
and no greenlet hop per statement (adapters/sql/asyncpg_driver.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from adapters.sql.database import Database
from adapters.sql.drivers import Driver

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement compiled for the driver: its SQL text; per positional parameter the
    bind's name, whether the caller gives its value (else the value fixed in the statement,
    e.g. a filter's) and its type's processor (None when the value goes as it is); for a
    SELECT its columns' result processors."""

    def __init__(
        self, statement: ClauseElement, db: Database, column_keys: Sequence[str] | None = None
    ) -> None:
        self._db = db
        dialect = db.engine.dialect
        keys = None if column_keys is None else list(column_keys)
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=keys))
        self.sql = str(compiled)
        self._binds: list[tuple[str, bool, Any, Processor]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self._binds.append((name, bind.required, bind.effective_value, process))
        # a SELECT's columns by their keys (labels included), each with its result processor
        self._readers: list[tuple[str, Processor]] = [
            (key, column.type.dialect_impl(dialect).result_processor(dialect, None))
            for key, column in getattr(statement, "selected_columns", {}).items()
        ]

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        return [
            bound(process, values[name] if required else fixed)
            for name, required, fixed, process in self._binds
        ]

    async def rows(self, values: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """A read's raw rows: one statement on the driver's connection, no writer's turn
        (SQLite: one trip to the connection's thread and the pool's reset; PostgreSQL: one
        round trip)."""
        async with self._db.driver(write=False) as driver:
            return await driver.fetch(self.sql, self.params(values))

    async def execute(self, driver: Driver, values: Mapping[str, Any]) -> int:
        """Run the statement on `driver`; how many rows it affected."""
        return await driver.execute(self.sql, self.params(values))

    async def first(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """A read's first row by column key, read as SQLAlchemy reads it (the one-row reads
        every request or turn makes: its session or API key, its conversation)."""
        rows = await self.rows(values)
        if not rows:
            return None
        return {
            key: bound(read, value)
            for (key, read), value in zip(self._readers, rows[0], strict=True)
        }


def bound(process: Processor, value: Any) -> Any:
    """`value` as its type's processor makes it (as it is when the type has none)."""
    return value if process is None else process(value)
