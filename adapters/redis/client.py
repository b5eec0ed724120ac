"""The shared redis.asyncio client (one connection pool per process) and `RedisClient`.

`open_redis` builds the driver: a bounded, blocking pool, socket timeouts, and redis-py's
own retry (exponential backoff on connection errors and timeouts, a bounded number of
times). `RedisClient` is the convenient face over it: prefixed keys, TTLs, JSON, a
deadline per call, and `CacheUnavailable` instead of driver errors, so an outage costs a
request a fraction of a second instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from adapters.redis.errors import cache_errors
from adapters.redis.keys import NAMESPACE, KeyKind, make_key
from domain.health import AdapterHealth

Value = str | bytes | int | float
DEFAULT_OPERATION_TIMEOUT = 2.5  # seconds for one call, retries included


@dataclass(frozen=True, slots=True)
class RedisOptions:
    """Connection behaviour. The defaults suit a cache on the request path: a dead server
    is reported within `operation_timeout` (in ~0.15 s when the port refuses
    connections), never after a hang."""

    socket_timeout: float | None = 1.0  # per socket read/write; None for blocking commands
    socket_connect_timeout: float = 1.0
    retries: int = 2  # after the first attempt; 0 disables retrying
    backoff_base: float = 0.02  # seconds; waits base·2, base·4, … capped at backoff_cap
    backoff_cap: float = 0.5
    # one call of RedisClient or a store, retries included (None: no deadline)
    operation_timeout: float | None = DEFAULT_OPERATION_TIMEOUT
    max_connections: int = 50
    pool_timeout: float = 5.0  # wait for a free connection when all are busy
    health_check_interval: int = 30  # PING a connection idle for this long before use


def open_redis(url: str, options: RedisOptions | None = None) -> redis.Redis:
    """Create the client; no I/O until the first command. Values come back as bytes."""
    o = options or RedisOptions()
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=o.max_connections,
        timeout=o.pool_timeout,
        socket_timeout=o.socket_timeout,
        socket_connect_timeout=o.socket_connect_timeout,
        health_check_interval=o.health_check_interval,
        retry=Retry(ExponentialBackoff(cap=o.backoff_cap, base=o.backoff_base), o.retries),
        decode_responses=False,
    )
    return redis.Redis.from_pool(pool)


class RedisHealth:
    name = "cache"

    def __init__(
        self,
        client: redis.Redis | RedisClient,
        *,
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
    ) -> None:
        self._client = client.redis if isinstance(client, RedisClient) else client
        self._timeout = timeout

    async def check(self) -> AdapterHealth:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
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


class RedisClient:
    """Redis as the framework uses it: strings in and out, TTLs in seconds (floats
    allowed), keys built with `key(kind, *parts)`, and `CacheUnavailable` when the
    server cannot be reached. `redis` is the driver, for pipelines and scripts.

    Owns its driver: `aclose()` (or leaving `async with`) closes the pool.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = NAMESPACE,
        operation_timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
    ) -> None:
        self.redis = client
        self.namespace = namespace
        self.operation_timeout = operation_timeout

    @classmethod
    def from_url(
        cls, url: str, options: RedisOptions | None = None, *, namespace: str = NAMESPACE
    ) -> RedisClient:
        options = options or RedisOptions()
        return cls(
            open_redis(url, options),
            namespace=namespace,
            operation_timeout=options.operation_timeout,
        )

    def guard(
        self, operation: str, *, any_redis_error: bool = False
    ) -> AbstractAsyncContextManager[None]:
        """Bound `operation` by `operation_timeout` and report an unavailable server as
        `CacheUnavailable` (see `adapters.redis.errors.cache_errors`)."""
        return cache_errors(
            operation, deadline=self.operation_timeout, any_redis_error=any_redis_error
        )

    async def __aenter__(self) -> RedisClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.redis.aclose()

    def key(self, kind: KeyKind | str, *parts: object) -> str:
        """`MAI:<kind>:<parts…>`, kind one of cache, session, ratelimit."""
        return make_key(kind, *parts, namespace=self.namespace)

    # --- health -----------------------------------------------------------------------

    async def ping(self) -> bool:
        """True if the server answers within `operation_timeout`; never raises."""
        try:
            async with asyncio.timeout(self.operation_timeout):
                return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    async def health_check(self) -> AdapterHealth:
        return await RedisHealth(self.redis, timeout=self.operation_timeout).check()

    # --- strings and counters ---------------------------------------------------------

    async def get(self, key: str) -> str | None:
        async with self.guard("get"):
            return _text(await self.redis.get(key))

    async def set(
        self, key: str, value: Value, *, ttl: float | None = None, only_if_absent: bool = False
    ) -> bool:
        """Store `value`; with `only_if_absent`, False (and nothing stored) if the key exists."""
        async with self.guard("set"):
            done = await self.redis.set(
                key, value, px=None if ttl is None else _ms(ttl), nx=only_if_absent
            )
        return bool(done)

    async def delete(self, *keys: str) -> int:
        async with self.guard("delete"):
            return int(await self.redis.delete(*keys)) if keys else 0

    async def exists(self, *keys: str) -> int:
        """How many of `keys` exist."""
        async with self.guard("exists"):
            return int(await self.redis.exists(*keys)) if keys else 0

    async def expire(self, key: str, ttl: float) -> bool:
        async with self.guard("expire"):
            return bool(await self.redis.pexpire(key, _ms(ttl)))

    async def ttl(self, key: str) -> float | None:
        """Seconds left, or None if the key does not exist or never expires."""
        async with self.guard("ttl"):
            left = int(await self.redis.pttl(key))
        return left / 1000 if left >= 0 else None

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add `amount` and return the new value. `ttl` is set when the counter is created
        and not extended afterwards (PEXPIRE NX, Redis 7+): a fixed window, as rate limits
        need. (A command retried after a timeout may count twice: fine for limits, wrong
        for money.)"""
        async with self.guard("incr"):
            if ttl is None:
                return int(await self.redis.incrby(key, amount))
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incrby(key, amount)
                pipe.pexpire(key, _ms(ttl), nx=True)
                value, _ = await pipe.execute()
            return int(value)

    async def decr(self, key: str, amount: int = 1) -> int:
        async with self.guard("decr"):
            return int(await self.redis.decrby(key, amount))

    # --- hashes -----------------------------------------------------------------------

    async def hget(self, key: str, field: str) -> str | None:
        async with self.guard("hget"):
            return _text(await self.redis.hget(key, field))

    async def hset(
        self, key: str, mapping: Mapping[str, Value], *, ttl: float | None = None
    ) -> int:
        """Set fields; returns how many were new. `ttl` (re)sets the whole hash's expiry."""
        if not mapping:
            return 0
        async with self.guard("hset"), self.redis.pipeline(transaction=True) as pipe:
            fields: dict[FieldT, EncodableT] = {k: v for k, v in mapping.items()}
            pipe.hset(key, mapping=fields)
            if ttl is not None:
                pipe.pexpire(key, _ms(ttl))
            added, *_ = await pipe.execute()
        return int(added)

    async def hgetall(self, key: str) -> dict[str, str]:
        async with self.guard("hgetall"):
            raw = await self.redis.hgetall(key)
        return {str(_text(k)): str(_text(v)) for k, v in raw.items()}

    async def hdel(self, key: str, *fields: str) -> int:
        async with self.guard("hdel"):
            return int(await self.redis.hdel(key, *fields)) if fields else 0

    # --- lists ------------------------------------------------------------------------

    async def lpush(self, key: str, *values: Value, ttl: float | None = None) -> int:
        return await self._push("lpush", key, values, ttl)

    async def rpush(self, key: str, *values: Value, ttl: float | None = None) -> int:
        return await self._push("rpush", key, values, ttl)

    async def _push(
        self, command: str, key: str, values: tuple[Value, ...], ttl: float | None
    ) -> int:
        if not values:
            return await self.llen(key)
        async with self.guard(command), self.redis.pipeline(transaction=True) as pipe:
            getattr(pipe, command)(key, *values)
            if ttl is not None:
                pipe.pexpire(key, _ms(ttl))
            length, *_ = await pipe.execute()
        return int(length)

    async def lrange(self, key: str, start: int = 0, end: int = -1) -> list[str]:
        """Items `start`..`end`, both inclusive (negative counts from the end)."""
        async with self.guard("lrange"):
            items = await self.redis.lrange(key, start, end)
        return [str(_text(item)) for item in items]

    async def ltrim(self, key: str, start: int, end: int) -> None:
        async with self.guard("ltrim"):
            await self.redis.ltrim(key, start, end)

    async def llen(self, key: str) -> int:
        async with self.guard("llen"):
            return int(await self.redis.llen(key))

    # --- JSON -------------------------------------------------------------------------

    async def get_json(self, key: str) -> Any:
        """The decoded value, or None if the key does not exist."""
        raw = await self.get(key)
        return None if raw is None else json.loads(raw)

    async def set_json(self, key: str, value: Any, *, ttl: float | None = None) -> bool:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        return await self.set(key, text, ttl=ttl)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def _ms(ttl: float) -> int:
    """Seconds → milliseconds, for PX / PEXPIRE (sub-second TTLs work)."""
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    return max(1, round(ttl * 1000))
