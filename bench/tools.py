"""Per-call overhead of the tool registry and its guards, against calling the function.

The same tiny sync function is called directly (the baseline), then through `invoke()`
(argument validation, `RunContext`, switches, logging and metrics; a sync tool runs in a
worker thread), then with `with_cache` hits (in-process and Redis) and with
`with_rate_limit` on Redis. The Redis rows are skipped when Redis does not answer.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

from adapters.inprocess.cache import InProcessCache
from adapters.inprocess.tool_metrics import RecordingToolMetrics
from adapters.inprocess.tools import InProcessToolStateStore
from adapters.redis import RedisClient
from adapters.redis.cache import RedisCache
from adapters.redis.rate_limiter import RedisRateLimiter
from application.agents.runner import AgentDeps
from application.tools import tool, with_cache, with_rate_limit
from application.tools.registry import ToolRegistry
from application.tools.toolset import invoke
from bench.harness import Row, compare, fmt_seconds
from domain.ports import Cache, RateLimiter

REDIS_URL = os.environ.get("MAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ARGS = {"a": 2, "b": 3}


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def _direct() -> None:
    add(2, 3)


def _registry(
    fn: Callable[..., Any], *, cache: Cache | None = None, limiter: RateLimiter | None = None
) -> ToolRegistry:
    registry = ToolRegistry(
        InProcessToolStateStore(), cache=cache, limiter=limiter, metrics=RecordingToolMetrics()
    )
    registry.register(fn)
    return registry


def _invoking(registry: ToolRegistry, name: str) -> Callable[[], Awaitable[None]]:
    deps = AgentDeps(user_id=uuid4())

    async def call() -> None:
        await invoke(registry, name, ARGS, deps)

    return call


async def _row(label: str, registry: ToolRegistry, name: str, note: str, *, n: int = 3000) -> Row:
    call = _invoking(registry, name)
    await call()  # fill the cache (cached rows): every timed call is a hit
    subject, baseline = await compare(call, _direct, n=n)
    overhead = fmt_seconds(subject.p50 - baseline.p50)
    return Row(label, subject, baseline, "direct call of the function", f"{note}; +{overhead}")


async def run() -> list[Row]:
    plain = tool(name="bench_add")(add)
    cached = tool(name="bench_add_cached")(with_cache(ttl=3600)(add))
    limited = tool(name="bench_add_limited")(with_rate_limit(10**9, 3600)(add))
    rows = [
        await _row(
            "tool call via invoke(), no guards",
            _registry(plain),
            "bench_add",
            "validate + RunContext + worker thread + log/metrics",
        ),
        await _row(
            "tool call via invoke(), with_cache hit (in-process)",
            _registry(cached, cache=InProcessCache()),
            "bench_add_cached",
            "sha256 key + dict get + decode",
        ),
    ]
    async with RedisClient.from_url(REDIS_URL) as client:
        if not await client.ping():
            return rows  # no Redis here: the Redis rows are skipped
        redis_cache, limiter = RedisCache(client), RedisRateLimiter(client)
        try:
            rows.append(
                await _row(
                    "tool call via invoke(), with_cache hit (Redis)",
                    _registry(cached, cache=redis_cache),
                    "bench_add_cached",
                    "1 GET round trip",
                    n=1500,
                )
            )
            rows.append(
                await _row(
                    "tool call via invoke(), with_rate_limit (Redis)",
                    _registry(limited, limiter=limiter),
                    "bench_add_limited",
                    "1 EVALSHA round trip + worker thread",
                    n=1500,
                )
            )
        finally:
            await redis_cache.delete_prefix("tool:bench_add")
            async for key in client.redis.scan_iter(match=limiter.key("tool:bench_add*")):
                await client.redis.unlink(key)
    return rows


if __name__ == "__main__":
    import asyncio

    from adapters.observability.logging import configure_logging

    configure_logging("WARNING", "json")
    for r in asyncio.run(run()):
        print(f"{r.name:55} p50 {fmt_seconds(r.subject.p50):>10}  ×{r.ratio:.1f}  {r.note}")
