"""`Database.read()`, the light path of the read every authenticated request makes: it fails
as `transaction()` does when the database cannot be reached, and on SQLite it does not queue
behind a writer's transaction yet sees only what was committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from adapters.sql.database import Database
from adapters.sql.migrate import upgrade
from adapters.sql.sessions import SqlSessionStore
from adapters.sql.users import SqlUserRepository
from domain.errors import ServiceUnavailable
from domain.identity.models import AuthSession, User


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mai.db'}"
    await upgrade(url)
    db = Database.from_url(url)
    yield db
    await db.close()


async def test_an_unreachable_database_is_service_unavailable() -> None:
    db = Database.from_url("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            async with db.read() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await db.close()
    assert caught.value.retryable and caught.value.details["backend"] == "postgresql"


async def test_a_read_does_not_wait_for_a_writer_and_sees_what_was_committed(
    sqlite: Database,
) -> None:
    user = User(username="ada", email="ada@example.com", password_hash="x")
    await SqlUserRepository(sqlite).add(user)
    now = datetime.now(UTC)
    session = AuthSession(user.id, "r1", expires_at=now + timedelta(days=1))
    sessions = SqlSessionStore(sqlite)
    await sessions.create(session)

    # Inside a write transaction (holding this process's SQLite lock, a revocation written
    # but not committed), the read neither waits for the lock nor sees the revocation.
    async with sqlite.transaction() as tx:
        await tx.execute(
            text("UPDATE auth_sessions SET revoked_at = :at WHERE id = :id"),
            {"at": now, "id": session.id.hex},
        )
        found = await sessions.get_with_user(session.id)
        assert found is not None and found[0].revoked_at is None

    found = await sessions.get_with_user(session.id)
    assert found is not None and found[0].revoked_at is not None
