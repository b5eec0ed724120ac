"""Driver errors → `CacheUnavailable`, and a deadline per operation, in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.exceptions import (
    BusyLoadingError,
    ConnectionError,
    ReadOnlyError,
    RedisError,
    TimeoutError,
)

from domain.memory.errors import CacheUnavailable

# The server is down, unreachable, too slow, still loading its data or a read-only
# replica: nothing the caller did wrong, and the database can answer instead. (The
# built-in TimeoutError of `asyncio.timeout` is an OSError.)
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    BusyLoadingError,
    ReadOnlyError,
    OSError,
)


@asynccontextmanager
async def cache_errors(
    operation: str, *, deadline: float | None, any_redis_error: bool = False
) -> AsyncIterator[None]:
    """Raise `CacheUnavailable` (retryable) for an unavailable server, or when the whole
    operation, retries included, takes longer than `deadline` seconds.

    The deadline is needed because redis-py retries at two levels: a command is retried
    `retries` times, and each attempt's connect + handshake is itself retried, so a
    server that accepts connections but never answers would otherwise cost up to
    (retries + 1)² socket timeouts.

    With `any_redis_error`, every Redis error counts (a cache that cannot answer, for any
    reason, is skipped); otherwise command errors such as WRONGTYPE surface as they are,
    since they are bugs, not outages.
    """
    caught: tuple[type[BaseException], ...] = (
        (*UNAVAILABLE_ERRORS, RedisError) if any_redis_error else UNAVAILABLE_ERRORS
    )
    try:
        async with asyncio.timeout(deadline):
            yield
    except caught as exc:
        raise CacheUnavailable(
            "The cache (Redis) is unavailable.",
            details={"operation": operation, "reason": type(exc).__name__},
        ) from exc
