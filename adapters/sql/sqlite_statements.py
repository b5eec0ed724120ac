"""Core statements run on SQLite's driver connection itself, for the hottest writes.

SQLAlchemy's aiosqlite adapter makes three trips to the connection's thread per statement
(cursor, execute, close) and two more per transaction (commit, the pool's reset); each
trip wakes two threads. A chat turn's two message writes (touch the conversation, insert
the message, commit) made 16 trips, on the driver's connection 8; a read (the request's
session, the turn's conversation) 5, here 2 (see `sqlite_search.py` for the same idea on
memory search). The statements are SQLAlchemy's
own, compiled once for the dialect, and every value goes through its column type's bind
processor, so rows are written exactly as SQLAlchemy would write them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from adapters.sql.database import Database

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement compiled for the driver: its SQL text, per positional parameter the
    bind's name and its type's processor (None when the value goes as it is), and for a
    SELECT its columns' result processors."""

    def __init__(
        self, statement: ClauseElement, db: Database, column_keys: Sequence[str] | None = None
    ) -> None:
        dialect = db.engine.dialect
        keys = None if column_keys is None else list(column_keys)
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=keys))
        self.sql = str(compiled)
        self._binds: list[tuple[str, Processor]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            self._binds.append((bind.key, process))

        # a SELECT's columns by their keys (labels included), each with its result processor
        self._readers: list[tuple[str, Processor]] = [
            (key, column.type.dialect_impl(dialect).result_processor(dialect, None))
            for key, column in getattr(statement, "selected_columns", {}).items()
        ]

    async def first(self, db: Database, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """A read's first row by column key, read as SQLAlchemy reads it: one trip to the
        connection's thread (and the pool's reset), no writer's turn."""
        async with db.driver_connection(write=False) as connection:
            rows = await connection.execute_fetchall(self.sql, self.params(values))
        if not rows:
            return None
        return {
            key: value if read is None else read(value)
            for (key, read), value in zip(self._readers, rows[0], strict=True)
        }

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        return [
            values[name] if process is None else process(values[name])
            for name, process in self._binds
        ]
