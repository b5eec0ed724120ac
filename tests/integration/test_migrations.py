"""The migrations go up, all the way down and up again, on SQLite and on PostgreSQL.

PostgreSQL runs in a scratch database created and dropped here, so "from empty" really is
empty (no `vector` extension yet) and the contract suite's `mai_test` schema is untouched.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.sql.migrate import current_revision, downgrade, head_revision, upgrade

PG_URL = os.environ.get("MAI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mai_test")
APP_TABLES = {
    "users",
    "auth_sessions",
    "conversations",
    "messages",
    "memories",
    "tool_states",
    "tool_approvals",
    "pipeline_runs",
    "pipeline_stage_results",
}
EXPECTED_INDEXES = {
    "users": {"uq_users_username", "uq_users_email"},
    "auth_sessions": {"ix_auth_sessions_user_id"},
    "conversations": {"ix_conversations_user_updated"},
    "messages": {"ix_messages_conversation_created"},
    "memories": {"ix_memories_user_created"},
    "tool_approvals": {"ix_tool_approvals_user_status_created"},
    "pipeline_runs": {"ix_pipeline_runs_user_created"},
}


async def tables_and_indexes(url: str) -> tuple[set[str], dict[str, set[str]]]:
    def read(conn: Connection) -> tuple[set[str], dict[str, set[str]]]:
        inspector = inspect(conn)
        tables = set(inspector.get_table_names())
        indexes = {t: {ix["name"] or "" for ix in inspector.get_indexes(t)} for t in tables}
        return tables, indexes

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await engine.dispose()


async def assert_round_trip(url: str) -> None:
    assert await current_revision(url) is None

    await upgrade(url)
    tables, indexes = await tables_and_indexes(url)
    assert tables >= APP_TABLES
    for table, expected in EXPECTED_INDEXES.items():
        assert expected <= indexes[table], table
    assert await current_revision(url) == head_revision()

    await downgrade(url, "base")
    tables, _ = await tables_and_indexes(url)
    assert not tables & APP_TABLES
    assert await current_revision(url) is None

    await upgrade(url)
    tables, _ = await tables_and_indexes(url)
    assert tables >= APP_TABLES


async def test_sqlite_round_trip_from_empty(tmp_path: Path) -> None:
    db_file = tmp_path / "nested" / "dir" / "mai.db"  # the directory is created for us
    await assert_round_trip(f"sqlite+aiosqlite:///{db_file}")
    assert db_file.exists()


@pytest.fixture
async def scratch_pg_url() -> AsyncIterator[str]:
    """A fresh, empty database next to `MAI_TEST_PG_URL`'s, dropped afterwards."""
    base = make_url(PG_URL)
    name = f"{base.database}_migrations"
    admin = create_async_engine(
        base.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.mark.integration
async def test_postgres_round_trip_with_pgvector(scratch_pg_url: str) -> None:
    await assert_round_trip(scratch_pg_url)

    engine = create_async_engine(scratch_pg_url)
    try:
        async with engine.connect() as conn:
            extension = await conn.scalar(
                text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            )
            column_type = await conn.scalar(
                text(
                    "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = 'memories'::regclass AND a.attname = 'embedding'"
                )
            )
            index_def = await conn.scalar(
                text(
                    "SELECT indexdef FROM pg_indexes "
                    "WHERE tablename = 'memories' AND indexname = 'ix_memories_embedding_hnsw'"
                )
            )
            fulltext_options = await conn.scalar(
                text("SELECT reloptions FROM pg_class WHERE relname = 'ix_memories_search_tsv'")
            )
    finally:
        await engine.dispose()

    assert fulltext_options == ["fastupdate=off"]  # no pending list for searches to scan
    assert extension is not None
    assert column_type == "vector(384)"
    assert index_def is not None
    assert "USING hnsw" in index_def and "vector_cosine_ops" in index_def


@pytest.mark.integration
async def test_postgres_embedding_dim_is_configurable(scratch_pg_url: str) -> None:
    await upgrade(scratch_pg_url, embedding_dim=768)

    engine = create_async_engine(scratch_pg_url)
    try:
        async with engine.connect() as conn:
            column_type = await conn.scalar(
                text(
                    "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                    "WHERE a.attrelid = 'memories'::regclass AND a.attname = 'embedding'"
                )
            )
    finally:
        await engine.dispose()
    assert column_type == "vector(768)"
