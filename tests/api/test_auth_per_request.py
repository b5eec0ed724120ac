"""What every authenticated request pays, and what it must still see.

It reads the database once: its session (or API key) with its user, in one SELECT (issue
#15: two reads, each its own transaction, made auth cost 3.4× a bare GET). Counted on the
embedded profile's SQLite; statements of background work (the memory outbox) are told apart
by the tables they touch. And nothing is cached: a logout or a deactivation on one server
process stops the credential on every other one with its next request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import aiosqlite
import httpx
import pytest
from sqlalchemy import event

from adapters.sql.database import Database
from adapters.sql.migrate import upgrade
from container import Container
from tests.api.conftest import running, with_model
from tests.conftest import Api, make_container, make_settings

IDENTITY_TABLES = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(users|auth_sessions|api_keys)\b")


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mai.db'}"
    await upgrade(url)
    container = with_model(make_container(make_settings(tmp_path, database={"url": url})), "test")
    async with running(container) as (_app, http):
        yield container, http


@contextmanager
def identity_statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements run on the identity tables while the block runs: through
    SQLAlchemy (its execute event) and on aiosqlite's connection itself (the hot reads)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if IDENTITY_TABLES.search(statement):
            seen.append(" ".join(statement.split()))

    raw = aiosqlite.Connection.execute_fetchall

    async def recorded(self: aiosqlite.Connection, sql: str, *args: Any) -> Any:
        record(None, None, sql)
        return await raw(self, sql, *args)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    aiosqlite.Connection.execute_fetchall = recorded  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        aiosqlite.Connection.execute_fetchall = raw  # type: ignore[method-assign]
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_one_read_per_request_with_an_access_token_or_an_api_key(
    embedded: tuple[Container, httpx.AsyncClient],
) -> None:
    container, http = embedded
    db = container.database()
    assert isinstance(db, Database)
    session = await Api(http).signup("ada")
    r = await http.post("/api/v1/api-keys", json={"name": "script"}, headers=session)
    key = {"Authorization": f"Bearer {r.json()['key']}"}
    assert (await http.get("/api/v1/users/me", headers=key)).status_code == 200  # first use

    for headers in (session, key):
        with identity_statements(db) as statements:
            r = await http.get("/api/v1/users/me", headers=headers)
        assert r.status_code == 200 and r.json()["username"] == "ada"
        assert len(statements) == 1, statements
        assert statements[0].startswith("SELECT") and " JOIN users ON " in statements[0]


async def test_a_logout_and_a_deactivation_reach_every_instance(tmp_path: Path) -> None:
    """Two app instances (as two server processes would be) on one SQLite file."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    await upgrade(url)

    def instance(name: str) -> Container:
        (tmp_path / name).mkdir()
        settings = make_settings(tmp_path / name, database={"url": url})
        return with_model(make_container(settings), "test")

    a_container = instance("a")
    async with running(a_container) as (_a, a), running(instance("b")) as (_b, b):
        me = "/api/v1/users/me"
        ada = Api(a)
        user = await ada.register("ada")
        first, second = await ada.login("ada"), await ada.login("ada")
        one = {"Authorization": f"Bearer {first['access_token']}"}
        two = {"Authorization": f"Bearer {second['access_token']}"}
        r = await a.post("/api/v1/api-keys", json={"name": "script"}, headers=two)
        key = {"Authorization": f"Bearer {r.json()['key']}"}
        for headers in (one, two, key):
            assert (await b.get(me, headers=headers)).status_code == 200

        assert (await a.post("/api/v1/auth/logout", headers=one)).status_code == 204
        assert (await b.get(me, headers=one)).status_code == 401
        assert (await b.get(me, headers=two)).status_code == 200

        await a_container.set_user_active().execute(UUID(user["id"]), False)
        for headers in (two, key):
            r = await b.get(me, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "AUTHENTICATION_FAILED"
