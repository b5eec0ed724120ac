"""The baseline app's storage: SQLite via aiosqlite (one connection, WAL), or PostgreSQL
via an asyncpg pool with the recent window cached in a Redis list. Plain SQL, one commit
per write, as a hand-written app would do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bl_users (id TEXT PRIMARY KEY, username TEXT UNIQUE NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bl_conversations (id TEXT PRIMARY KEY, user_id TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bl_messages (id TEXT PRIMARY KEY, conversation_id TEXT NOT "
    "NULL, role TEXT NOT NULL, content TEXT NOT NULL, seq BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS bl_messages_conv ON bl_messages (conversation_id, seq)",
)


class Store(Protocol):
    async def ensure_user(self, username: str) -> str: ...
    async def user(self, user_id: str) -> str | None: ...
    async def new_conversation(self, user_id: str) -> str: ...
    async def owns(self, user_id: str, conversation_id: str) -> bool: ...
    async def window(self, conversation_id: str, n: int) -> list[tuple[str, str]]: ...
    async def add(self, conversation_id: str, role: str, content: str) -> str: ...


class SqliteStore:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.seq = 0

    async def ensure_user(self, username: str) -> str:
        async with self.db.execute("SELECT id FROM bl_users WHERE username = ?", (username,)) as c:
            row = await c.fetchone()
        if row:
            return str(row[0])
        ident = uuid.uuid4().hex
        await self.db.execute("INSERT INTO bl_users VALUES (?, ?)", (ident, username))
        await self.db.commit()
        return ident

    async def user(self, user_id: str) -> str | None:
        async with self.db.execute("SELECT id FROM bl_users WHERE id = ?", (user_id,)) as c:
            row = await c.fetchone()
        return None if row is None else str(row[0])

    async def new_conversation(self, user_id: str) -> str:
        ident = uuid.uuid4().hex
        await self.db.execute("INSERT INTO bl_conversations VALUES (?, ?)", (ident, user_id))
        await self.db.commit()
        return ident

    async def owns(self, user_id: str, conversation_id: str) -> bool:
        sql = "SELECT 1 FROM bl_conversations WHERE id = ? AND user_id = ?"
        async with self.db.execute(sql, (conversation_id, user_id)) as c:
            return await c.fetchone() is not None

    async def window(self, conversation_id: str, n: int) -> list[tuple[str, str]]:
        sql = (
            "SELECT role, content FROM bl_messages WHERE conversation_id = ? "
            "ORDER BY seq DESC LIMIT ?"
        )
        async with self.db.execute(sql, (conversation_id, n)) as c:
            rows = await c.fetchall()
        return [(str(r[0]), str(r[1])) for r in reversed(rows)]

    async def add(self, conversation_id: str, role: str, content: str) -> str:
        ident, self.seq = uuid.uuid4().hex, self.seq + 1
        await self.db.execute(
            "INSERT INTO bl_messages VALUES (?, ?, ?, ?, ?)",
            (ident, conversation_id, role, content, self.seq),
        )
        await self.db.commit()
        return ident


class PostgresStore:
    """Messages in PostgreSQL; the last ten of each conversation also in a Redis list."""

    def __init__(self, pool: Any, redis: Any) -> None:
        self.pool, self.redis = pool, redis

    async def ensure_user(self, username: str) -> str:
        ident = await self.pool.fetchval(
            "INSERT INTO bl_users VALUES ($1, $2) ON CONFLICT (username) DO UPDATE SET "
            "username = EXCLUDED.username RETURNING id",
            uuid.uuid4().hex,
            username,
        )
        return str(ident)

    async def user(self, user_id: str) -> str | None:
        row = await self.pool.fetchval("SELECT id FROM bl_users WHERE id = $1", user_id)
        return None if row is None else str(row)

    async def new_conversation(self, user_id: str) -> str:
        ident = uuid.uuid4().hex
        await self.pool.execute("INSERT INTO bl_conversations VALUES ($1, $2)", ident, user_id)
        return ident

    async def owns(self, user_id: str, conversation_id: str) -> bool:
        sql = "SELECT 1 FROM bl_conversations WHERE id = $1 AND user_id = $2"
        return await self.pool.fetchval(sql, conversation_id, user_id) is not None

    async def window(self, conversation_id: str, n: int) -> list[tuple[str, str]]:
        cached = await self.redis.lrange(f"bl:w:{conversation_id}", -n, -1)
        return [(r.split(":", 1)[0], r.split(":", 1)[1]) for r in cached]

    async def add(self, conversation_id: str, role: str, content: str) -> str:
        ident = uuid.uuid4().hex
        await self.pool.execute(
            "INSERT INTO bl_messages VALUES ($1, $2, $3, $4, "
            "(SELECT count(*) FROM bl_messages WHERE conversation_id = $2))",
            ident,
            conversation_id,
            role,
            content,
        )
        key = f"bl:w:{conversation_id}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, f"{role}:{content}")
            pipe.ltrim(key, -10, -1)
            await pipe.execute()
        return ident


@asynccontextmanager
async def open_store(db_url: str, redis_url: str | None) -> AsyncIterator[Store]:
    if db_url.startswith("postgresql://"):
        import asyncpg
        import redis.asyncio as aioredis

        pool = await asyncpg.create_pool(db_url, min_size=2, max_size=10)
        client = aioredis.from_url(redis_url or "redis://127.0.0.1:6379/0", decode_responses=True)
        try:
            for stmt in SCHEMA:
                await pool.execute(stmt)
            yield PostgresStore(pool, client)
        finally:
            await client.aclose()
            await pool.close()
        return
    import aiosqlite

    async with aiosqlite.connect(db_url) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        for stmt in SCHEMA:
            await db.execute(stmt)
        await db.commit()
        yield SqliteStore(db)
