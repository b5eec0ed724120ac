"""PostgreSQL's hot path on asyncpg's own connection (adapters/sql/asyncpg_driver.py): the
pool's checks that replace `pool_pre_ping`, and a connection left inside a transaction
never reaching the next request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from adapters.sql import asyncpg_driver
from adapters.sql.database import Database
from tests.conftest import PG_URL

pytestmark = pytest.mark.integration


@pytest.fixture
async def db() -> AsyncIterator[Database]:
    database = Database.from_url(PG_URL, pool_size=2)
    yield database
    await database.close()


async def backend_pid(db: Database) -> int:
    async with db.driver(write=False) as driver:
        return int((await driver.fetch("SELECT pg_backend_pid()", []))[0][0])


async def pooled(db: Database) -> Any:
    """The pool's one idle connection (SQLAlchemy's adapter around asyncpg's)."""
    async with db.engine.connect() as conn:
        return (await conn.get_raw_connection()).dbapi_connection


async def terminate(pid: int) -> None:
    """What a restart or an administrator does to a connection: the server ends it."""
    admin = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def wait_closed(adapted: Any) -> None:
    """Until the pooled connection has seen the server close it (the event loop reads the
    socket: at once on loopback)."""
    for _ in range(100):
        if adapted.driver_connection.is_closed():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the terminated connection still looks open")


async def test_a_connection_the_server_ended_is_replaced_without_a_failed_request(
    db: Database,
) -> None:
    first, adapted = await backend_pid(db), await pooled(db)
    await terminate(first)
    await wait_closed(adapted)
    # the driver path and SQLAlchemy's own both get a live connection, as with pre-ping
    second, adapted = await backend_pid(db), await pooled(db)
    assert second != first
    await terminate(second)
    await wait_closed(adapted)
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar() == 1


async def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection idle past PING_AFTER_IDLE is pinged on checkout; when the ping fails
    (a connection dropped where no close reached us), a fresh one is handed out."""
    first, adapted = await backend_pid(db), await pooled(db)
    monkeypatch.setattr(asyncpg_driver, "PING_AFTER_IDLE", 0.0)
    pings: list[object] = []

    def failing_ping(self: object) -> None:
        pings.append(self)
        raise OSError("no answer")

    monkeypatch.setattr(type(adapted), "ping", failing_ping)  # a fresh connection: no ping
    assert await backend_pid(db) != first
    assert pings == [adapted]


async def test_a_connection_left_in_a_transaction_is_not_pooled(db: Database) -> None:
    async with db.driver_connection() as connection:
        await connection.execute("BEGIN")
        await connection.execute("CREATE TEMP TABLE left_open (x int)")
        pid = await connection.fetchval("SELECT pg_backend_pid()")
    # whatever the next request gets is outside any transaction (a fresh connection)
    async with db.driver_connection(write=False) as connection:
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT pg_backend_pid()") != pid
        assert await connection.fetchval("SELECT to_regclass('left_open')") is None


async def test_a_driver_transaction_commits_or_rolls_back(db: Database) -> None:
    async with db.driver() as driver:
        await driver.execute("CREATE TEMP TABLE IF NOT EXISTS t (x int)", [])
        with pytest.raises(KeyError):
            async with driver.transaction():
                assert await driver.execute("INSERT INTO t VALUES ($1), ($2)", [1, 2]) == 2
                raise KeyError("the caller's")
        async with driver.transaction():
            assert await driver.execute("INSERT INTO t VALUES ($1)", [3]) == 1
        assert [tuple(r) for r in await driver.fetch("SELECT x FROM t", [])] == [(3,)]


async def test_a_cancelled_statement_gives_its_connection_back(db: Database) -> None:
    """A request cancelled mid-statement (a client gone) leaves no connection checked out
    and none inside a transaction."""
    started = asyncio.Event()

    async def slow() -> None:
        async with db.driver(write=False) as driver:
            started.set()
            await driver.fetch("SELECT pg_sleep(5)", [])

    task = asyncio.create_task(slow())
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert db.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with db.driver(write=False) as driver:
        assert [tuple(r) for r in await driver.fetch("SELECT 1", [])] == [(1,)]


async def test_a_connection_whose_use_raised_is_not_pooled(db: Database) -> None:
    """A statement cut off mid-operation (the server lost, a cancellation) can leave the
    driver's protocol in a state the next request would trip on ("another operation is in
    progress"): a connection whose use raised is closed, whatever the error."""
    with pytest.raises(KeyError):
        async with db.driver_connection(write=False) as connection:
            pid = await connection.fetchval("SELECT pg_backend_pid()")
            raise KeyError("cut off")
    async with db.driver_connection(write=False) as connection:
        assert await connection.fetchval("SELECT pg_backend_pid()") != pid
    assert db.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
