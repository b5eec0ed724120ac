"""PostgreSQL's hot path on asyncpg's own connection, and the pool's check of a connection
before it is handed out. Imported only by a PostgreSQL `Database` (the embedded profile
never loads asyncpg).

Through SQLAlchemy's async bridge a one-row read was six round trips on PostgreSQL (the
pool's pre-ping: BEGIN, `;`, ROLLBACK; then BEGIN, the SELECT, ROLLBACK) with greenlet hops
around each; on asyncpg's connection it is one (Bind, Execute, Sync of a statement asyncpg
prepared once per connection). A REST chat turn (auth read, conversation read, two message
writes) went from 26 round trips to 4 (issue 15).

The pre-ping, replaced. SQLAlchemy's `pool_pre_ping` costs three round trips on every
checkout, to notice a connection the server has dropped (a restart, an administrator's or
`idle_session_timeout`'s termination) before a request uses it. The server closes such a
connection (FATAL, then FIN), which asyncpg sees as soon as the event loop reads the socket:
`is_closed()` answers that without a round trip. What it cannot see is a connection dropped
silently on the way (a NAT or firewall forgetting an idle flow); that happens to idle
connections, so a connection idle for `PING_AFTER_IDLE` seconds or more is pinged as before.
Either failure makes the pool throw the connection away and hand out a fresh one, as the
pre-ping did.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

#: Seconds a pooled connection may sit unused before its next checkout pings the server.
PING_AFTER_IDLE = 30.0
_IDLE_SINCE = "mai_idle_since"


class AsyncpgDriver:
    """asyncpg's connection. Outside `transaction()` every statement commits by itself
    (a single read needs no BEGIN/ROLLBACK around it). asyncpg prepares each SQL text once
    per connection (its statement cache) and then binds values to it."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        return await self._connection.fetch(sql, *params)  # type: ignore[no-any-return]

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        status: str = await self._connection.execute(sql, *params)  # e.g. "UPDATE 1"
        count = status.rpartition(" ")[2]
        return int(count) if count.isdigit() else 0  # "CREATE TABLE": no rows

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self._connection.transaction():
            yield


def in_transaction(connection: asyncpg.Connection) -> bool:
    """True when the connection is inside a transaction the pool's reset would not end
    (SQLAlchemy rolls back only the transactions it began itself)."""
    return bool(connection.is_in_transaction())


def check_on_checkout(engine: AsyncEngine) -> None:
    """Install the checks that replace `pool_pre_ping` (see the module's docstring)."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("The server closed the connection.")
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since >= PING_AFTER_IDLE:
            try:
                dbapi_connection.ping()  # what pool_pre_ping does (inside the pool's greenlet)
            except Exception as exc:
                raise DisconnectionError("The connection did not answer a ping.") from exc
