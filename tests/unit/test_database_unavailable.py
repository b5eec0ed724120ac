"""A database out of reach is a retryable `ServiceUnavailable` (503), through a transaction
and through the driver's own connection (the hot paths) alike."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from adapters.sql.database import Database
from domain.errors import ServiceUnavailable

NOBODY = "postgresql+asyncpg://postgres@127.0.0.1:9599/nothing"  # a port nothing listens on


async def test_an_unreachable_database_is_unavailable_on_every_path() -> None:
    db = Database.from_url(NOBODY)
    try:
        with pytest.raises(ServiceUnavailable) as raised:
            async with db.transaction() as tx:
                await tx.execute(text("SELECT 1"))
        assert raised.value.retryable and raised.value.details["backend"] == "postgresql"
        with pytest.raises(ServiceUnavailable):
            async with db.driver_connection():
                pass
    finally:
        await db.close()


async def test_a_failing_statement_is_not_called_unavailable(tmp_path: object) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/x.sqlite")
    try:
        with pytest.raises(Exception) as raised:
            async with db.driver_connection() as raw:
                await raw.execute("SELECT * FROM no_such_table")
        assert not isinstance(raised.value, ServiceUnavailable)
        assert "no_such_table" in str(raised.value)
    finally:
        await db.close()


async def test_an_error_raised_inside_a_transaction_passes_through_unchanged(
    tmp_path: object,
) -> None:
    """Not re-raised from itself: an exception whose cause is itself sends traceback
    renderers (structlog's, rich's) round in a loop."""
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/x.sqlite")
    mine = KeyError("the caller's")
    try:
        for opened in (db.transaction, db.read, db.driver_connection):
            with pytest.raises(KeyError) as raised:
                async with opened():
                    raise mine
            assert raised.value is mine and raised.value.__cause__ is None
    finally:
        await db.close()
