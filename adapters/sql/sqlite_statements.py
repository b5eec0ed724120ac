"""Core statements run on SQLite's driver connection itself, for the hottest writes.

SQLAlchemy's aiosqlite adapter makes three trips to the connection's thread per statement
(cursor, execute, close) and two more per transaction (commit, the pool's reset); each
trip wakes two threads. A chat turn's two message writes (touch the conversation, insert
the message, commit) made 16 trips; on the driver's connection they make 8 (see
`sqlite_search.py` for the same idea on memory search). The statements are SQLAlchemy's
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
    """One statement compiled for the driver: its SQL text, and per positional parameter
    the bind's name and its type's processor (None when the value goes as it is)."""

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

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        return [
            values[name] if process is None else process(values[name])
            for name, process in self._binds
        ]
