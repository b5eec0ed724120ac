"""The SQLAlchemy async engine for PostgreSQL and SQLite.

One `Database` per process, opened by the container's resource and disposed on shutdown.
Creating it does no I/O; the first query connects.

Every repository works inside `transaction()`, so that is where a database that cannot be
reached (down, restarting, the connection cut, the pool exhausted) becomes a retryable
`ServiceUnavailable` (503) instead of a driver error (500). Errors about the statement
itself (constraints, bad data) pass through unchanged for the repositories to translate.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from adapters.sql.drivers import Driver, SqliteDriver
from domain.errors import ServiceUnavailable
from domain.health import AdapterHealth

#: SQLSTATEs that mean "no database to talk to right now": class 08 (connection exception)
#: and PostgreSQL's admin/crash shutdown and "cannot connect now" (starting up, shutting down).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time, and a transaction that reads and then writes
        # fails at once ("database is locked") instead of waiting when another connection
        # wrote in between. So on SQLite this process runs one transaction at a time (FIFO):
        # no lost turns under concurrency (measured: 2-6 failed turns per 1000 at
        # concurrency 50 without it). One lock per event loop: asyncio locks bind to one.
        self._serial: dict[asyncio.AbstractEventLoop, asyncio.Lock] | None = (
            {} if self.dialect == "sqlite" else None
        )
        # The driver's own connection for the hot statements (`driver()`)
        self._driver: Callable[[Any], Driver]
        self._in_transaction: Callable[[Any], bool] = _never
        if self.dialect == "sqlite":
            self._driver = SqliteDriver
        elif engine.dialect.driver == "asyncpg":
            from adapters.sql import asyncpg_driver  # only a PostgreSQL database loads asyncpg

            self._driver = asyncpg_driver.AsyncpgDriver
            self._in_transaction = asyncpg_driver.in_transaction
        else:  # what DATABASE__URL accepts (adapters/settings.py)
            raise ValueError(f"Unsupported database driver: {engine.dialect.driver}.")

    def _lock(self) -> asyncio.Lock | None:
        if self._serial is None:
            return None
        loop = asyncio.get_running_loop()
        lock = self._serial.get(loop)
        if lock is None:
            lock = self._serial[loop] = asyncio.Lock()
        return lock

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10, echo: bool = False) -> Database:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(url, echo=echo)
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            # no pool_pre_ping: the same safety without its round trips (asyncpg_driver.py)
            engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size
            )
            if engine.dialect.driver == "asyncpg":
                from adapters.sql.asyncpg_driver import check_on_checkout

                check_on_checkout(engine)
        return cls(engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction: committed on success, rolled back on error.

        A Core connection, not an ORM session: every repository speaks SQLAlchemy Core
        (`execute` on tables), and the session's unit-of-work bookkeeping around each
        statement and commit cost as much CPU as the statements on SQLite (issue 15).

        An unreachable database raises `ServiceUnavailable` (retryable). Whether a write
        whose commit was cut off took effect is unknown: the caller was not told it did."""
        try:
            async with self._serialised(), self.engine.begin() as conn:
                yield conn
        except Exception as exc:
            if not is_unavailable(exc):
                raise  # the caller's own error, untouched (its cause too)
            raise self._unavailable(exc) from exc

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one read-only query: the light path for the read every request
        makes (authentication). No ORM session and no commit (the pool rolls the connection's
        implicit transaction back on return): about half the CPU of `transaction()` on
        SQLite. On SQLite it does not queue for the one-transaction-at-a-time lock, which
        only writers need: in WAL mode a reader neither blocks nor waits for a writer, and
        sees every transaction committed before it began. Never write through it.

        An unreachable database raises `ServiceUnavailable`, as `transaction()` does."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except Exception as exc:
            if not is_unavailable(exc):
                raise  # the caller's own error, untouched (its cause too)
            raise self._unavailable(exc) from exc

    @asynccontextmanager
    async def driver_connection(self, *, write: bool = True) -> AsyncIterator[Any]:
        """The driver's own connection (aiosqlite, asyncpg) from the pool, for a hot path
        that SQLAlchemy's execution layer would slow down; on SQLite one writer at a time,
        as `transaction()` (`write=False`: a read, which takes no turn, as `read()`).
        Ending any transaction begun on it is the caller's job: on SQLite the pool rolls
        back what is left when it takes the connection back; an asyncpg connection left
        inside a transaction of its own is closed instead of pooled. A connection whose use
        raised (a statement cut off by a lost server or a cancellation can leave the
        driver's protocol mid-operation) is closed too, never handed to the next request."""
        serialised = self._serialised() if write else nullcontext()
        try:
            async with serialised:
                pooled = await self.engine.raw_connection()
                failed = True
                try:
                    yield pooled.driver_connection
                    failed = False
                finally:
                    await _to_completion(greenlet_spawn(self._release, pooled, failed))
        except Exception as exc:
            if not is_unavailable(exc):
                raise  # the caller's own error, untouched (its cause too)
            raise self._unavailable(exc) from exc

    def _release(self, pooled: PoolProxiedConnection, failed: bool) -> None:
        if failed or self._in_transaction(pooled.driver_connection):
            pooled.invalidate()  # cut off mid-operation: not handed to the next request
        else:
            pooled.close()  # back to the pool, reset as SQLAlchemy resets every connection

    @asynccontextmanager
    async def driver(self, *, write: bool = True) -> AsyncIterator[Driver]:
        """`driver_connection()` behind the `Driver` interface (adapters/sql/drivers.py)."""
        async with self.driver_connection(write=write) as connection:
            yield self._driver(connection)

    def _serialised(self) -> AbstractAsyncContextManager[object]:
        lock = self._lock()
        return nullcontext() if lock is None else lock

    def _unavailable(self, exc: Exception) -> ServiceUnavailable:
        """The retryable error for a database out of reach."""
        return ServiceUnavailable(
            "The database is unavailable.",
            details={"backend": self.dialect, "cause": type(_root(exc)).__name__},
        )

    async def close(self) -> None:
        await self.engine.dispose()


def _never(_connection: Any) -> bool:
    return False


async def _to_completion(cleanup: Awaitable[None]) -> None:
    """Await `cleanup` to its end even if the caller is cancelled meanwhile (then re-raise
    the cancellation), as SQLAlchemy closes its connections: a connection is never left
    half-returned to the pool."""
    task = asyncio.ensure_future(cleanup)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            if task.done():
                raise
            cancelled = exc
        else:
            break
    if cancelled is not None:
        raise cancelled


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and its causes (SQLAlchemy wraps the driver's error, which may wrap an OSError)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _root(exc: BaseException) -> BaseException:
    return _chain(exc)[-1]


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached, not that a statement failed."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    for error in _chain(exc):
        if isinstance(error, OSError | PoolTimeout | DisconnectionError):
            return True
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES):
            return True
        # asyncpg is loaded only by a PostgreSQL engine (cold start: SQLite never needs it).
        asyncpg = sys.modules.get("asyncpg")
        if asyncpg and isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
            return True  # "connection is closed": PostgreSQL went away under it
        if asyncpg and isinstance(error, asyncpg.InternalClientError):
            return True  # a connection left mid-operation when PostgreSQL went away
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            return True  # another process (a CLI beside the server) held the write lock
    return False


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # SQLite's advice for WAL: a commit no longer waits for fsync (durable across a crash of
    # the process; the last commits can be lost on power loss). Every search writes (its
    # access count).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class DatabaseHealth:
    name = "database"

    def __init__(self, database: Database) -> None:
        self._db = database

    async def check(self) -> AdapterHealth:
        started = time.perf_counter()
        try:
            async with self._db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            return AdapterHealth(self.name, False, self._db.dialect, detail=type(exc).__name__)
        return AdapterHealth(
            self.name, True, self._db.dialect, latency_ms=(time.perf_counter() - started) * 1000
        )
