"""`Cache` on Redis: plain string keys under `MAI:cache:…`, TTLs in milliseconds.

Every call runs inside `RedisClient.guard` with `any_redis_error`: a cache is never the
source of truth, so whatever keeps Redis from answering is reported as `CacheUnavailable`
and the caller goes on without it. `delete_prefix` walks the keyspace with SCAN (never
KEYS, which blocks the server) and drops each page with UNLINK (freed in the background);
each SCAN/UNLINK step has its own deadline, so a large invalidation is not cut short by
the per-operation timeout.
"""

from __future__ import annotations

import re

from adapters.redis.client import RedisClient
from adapters.redis.keys import KeyKind

_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


class RedisCache:
    def __init__(self, client: RedisClient, *, scan_count: int = 500) -> None:
        self._client = client
        self._scan_count = scan_count  # keys per SCAN page (a hint) and per UNLINK

    def key(self, key: str) -> str:
        """The Redis key of a cache key (a caller's key is never used bare)."""
        return self._client.key(KeyKind.CACHE, key)

    async def get(self, key: str) -> str | None:
        redis_key = self.key(key)
        async with self._client.guard("cache.get", any_redis_error=True):
            raw = await self._client.redis.get(redis_key)
        return None if raw is None else _text(raw)

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        redis_key = self.key(key)
        px = None if ttl is None else _ms(ttl)
        async with self._client.guard("cache.set", any_redis_error=True):
            await self._client.redis.set(redis_key, value, px=px)

    async def delete(self, key: str) -> None:
        redis_key = self.key(key)
        async with self._client.guard("cache.delete", any_redis_error=True):
            await self._client.redis.unlink(redis_key)

    async def delete_prefix(self, prefix: str) -> int:
        """SCAN MATCH `<root><prefix>*` with the prefix taken literally, UNLINK each page.

        Returns how many keys were removed. Keys written while the scan runs may or may
        not be removed (SCAN guarantees only keys present for the whole scan)."""
        # The root ("MAI:cache:") is escaped too: a namespace could contain glob chars.
        root = self.key("_")[:-1]
        pattern = _glob_escape(root + prefix) + "*"
        removed = 0
        cursor = 0
        while True:
            async with self._client.guard("cache.delete_prefix", any_redis_error=True):
                cursor, keys = await self._client.redis.scan(
                    cursor, match=pattern, count=self._scan_count
                )
                if keys:
                    removed += int(await self._client.redis.unlink(*keys))
            if cursor == 0:
                return removed


def _glob_escape(text: str) -> str:
    """Make `text` match itself in a Redis glob pattern (`*`, `?`, `[`, `]`, `\\`)."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _ms(ttl: float) -> int:
    """Seconds → milliseconds for PX (sub-second TTLs work); a TTL must be positive."""
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    return max(1, round(ttl * 1000))
