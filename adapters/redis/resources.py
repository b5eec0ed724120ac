"""How the runtime opens and closes the Redis connection pool; an async context manager the
container makes a `Resource` of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis

from adapters.redis.client import open_redis


@asynccontextmanager
async def open_redis_pool(url: str) -> AsyncIterator[redis.Redis]:
    """The process's one pool to REDIS__URL (no I/O until the first command)."""
    client = open_redis(url)
    try:
        yield client
    finally:
        await client.aclose()
