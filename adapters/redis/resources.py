"""How the runtime opens and closes Redis: one `RedisClient` (one connection pool) per
process, shared by the cache, the rate limiter, the event bus and the window store; an
async context manager the container makes a `Resource` of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.redis.client import RedisClient


@asynccontextmanager
async def open_redis_client(url: str) -> AsyncIterator[RedisClient]:
    """The client for REDIS__URL (no I/O until the first command); its pool closes on exit."""
    async with RedisClient.from_url(url) as client:
        yield client
