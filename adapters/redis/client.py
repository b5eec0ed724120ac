"""The shared redis.asyncio client (one connection pool per process)."""

from __future__ import annotations

import time

import redis.asyncio as redis
from redis.exceptions import RedisError

from domain.health import AdapterHealth


def open_redis(url: str) -> redis.Redis:
    """Create the client; no I/O until the first command."""
    return redis.Redis.from_url(
        url, decode_responses=False, health_check_interval=30, socket_connect_timeout=2
    )


class RedisHealth:
    name = "cache"

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    async def check(self) -> AdapterHealth:
        started = time.perf_counter()
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            return AdapterHealth(
                self.name, False, "redis", detail=type(exc).__name__, required=False
            )
        return AdapterHealth(
            self.name,
            True,
            "redis",
            latency_ms=(time.perf_counter() - started) * 1000,
            required=False,
        )
