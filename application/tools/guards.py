"""Guard decorators for tools: retry, timeout, cache, rate limit.

Each is a plain decorator that keeps the function's signature (so the schema the model sees
does not change) and works stacked in any order; the order is the order of effect, outermost
first. The recommended stack, and why:

    @tool(...)
    @with_rate_limit(10, 60)   # refuse first: a refused call costs nothing
    @with_cache(ttl=300)       # a hit skips retries, the timeout and the function
    @with_retry(attempts=3)    # retries the timed call
    @with_timeout(5)           # bounds each attempt
    async def fetch(...): ...

Cache and rate limit need infrastructure (the `Cache` and `RateLimiter` ports) and the
calling user: the registry provides both through a `ToolRuntime` while it runs a call. A
function called directly, outside the registry, runs with neither (those two guards are
transparent then); retry and timeout always apply.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
import typing
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from uuid import UUID

import structlog
from pydantic import TypeAdapter
from pydantic_ai import RunContext
from pydantic_core import to_jsonable_python
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from domain.errors import CacheUnavailable, MAIError
from domain.ports import Cache, RateLimiter
from domain.tools.errors import ToolRateLimited, ToolTimeout
from domain.tools.ports import ToolMetrics

F = TypeVar("F", bound=Callable[..., Any])
log = structlog.get_logger("mai.tools")


@dataclass(frozen=True, slots=True)
class ToolRuntime:
    """What a guarded call can reach while the registry runs it."""

    name: str
    version: str
    user_id: UUID | None = None
    user_scoped: bool = False
    cache: Cache | None = None
    limiter: RateLimiter | None = None
    metrics: ToolMetrics | None = None


_RUNTIME: ContextVar[ToolRuntime | None] = ContextVar("mai_tool_runtime", default=None)


@contextmanager
def tool_runtime(runtime: ToolRuntime) -> Iterator[None]:
    token = _RUNTIME.set(runtime)
    try:
        yield
    finally:
        _RUNTIME.reset(token)


def _runtime(fn: Callable[..., Any]) -> ToolRuntime:
    return _RUNTIME.get() or ToolRuntime(name=fn.__name__, version="direct")


def _as_async(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Sync functions run in a worker thread, so a timeout can stop waiting for them."""
    if inspect.iscoroutinefunction(fn):
        return fn

    async def call(*args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    return call


def is_retryable(exc: BaseException) -> bool:
    """Only failures marked transient are retried: a bug would fail the same way again."""
    return isinstance(exc, MAIError) and exc.retryable


def with_retry(
    attempts: int = 3, backoff: float = 0.5, max_backoff: float = 10.0
) -> Callable[[F], F]:
    """Retry errors marked retryable (`RetryableToolError`, timeouts, any retryable
    `MAIError`) up to `attempts` times with exponential backoff from `backoff` seconds."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")

    def decorate(fn: F) -> F:
        call = _as_async(fn)

        @functools.wraps(fn)
        async def retried(*args: Any, **kwargs: Any) -> Any:
            rt = _runtime(fn)
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts),
                wait=wait_exponential(multiplier=backoff, max=max_backoff),
                retry=retry_if_exception(is_retryable),
                reraise=True,
            ):
                with attempt:
                    if attempt.retry_state.attempt_number > 1 and rt.metrics is not None:
                        rt.metrics.retried(rt.name, rt.version)
                    return await call(*args, **kwargs)
            raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

        return typing.cast(F, retried)

    return decorate


def with_timeout(seconds: float) -> Callable[[F], F]:
    """Give up on a call after `seconds` with a retryable `ToolTimeout`."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")

    def decorate(fn: F) -> F:
        call = _as_async(fn)

        @functools.wraps(fn)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            try:
                async with asyncio.timeout(seconds):
                    return await call(*args, **kwargs)
            except TimeoutError:
                name = _runtime(fn).name
                raise ToolTimeout(
                    f"Tool {name!r} did not finish within {seconds:g} s.",
                    details={"tool": name, "timeout_seconds": seconds},
                ) from None

        return typing.cast(F, timed)

    return decorate


def cache_key(rt: ToolRuntime, arguments: dict[str, Any]) -> str:
    """name + version + canonical arguments (+ the user, for user-scoped tools)."""
    canonical = json.dumps(
        to_jsonable_python(arguments), sort_keys=True, separators=(",", ":"), default=str
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    scope = str(rt.user_id) if rt.user_scoped and rt.user_id is not None else "-"
    return f"tool:{rt.name}:{rt.version}:{scope}:{digest}"


def _arguments(signature: inspect.Signature, args: Any, kwargs: Any) -> dict[str, Any]:
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if not isinstance(v, RunContext)}


def with_cache(ttl: float) -> Callable[[F], F]:
    """Serve a result computed in the last `ttl` seconds for the same arguments.

    Results go through the `Cache` port (Redis in production), encoded by the return
    annotation; failures are never cached; a cache outage is a miss, never a failed call.
    """

    def decorate(fn: F) -> F:
        call = _as_async(fn)
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
        adapter: TypeAdapter[Any] = TypeAdapter(hints.get("return", Any))

        @functools.wraps(fn)
        async def cached(*args: Any, **kwargs: Any) -> Any:
            rt = _runtime(fn)
            if rt.cache is None:
                return await call(*args, **kwargs)
            key = cache_key(rt, _arguments(signature, args, kwargs))
            try:
                hit = await rt.cache.get(key)
            except CacheUnavailable:
                hit = None
                log.warning("tool_cache_unavailable", tool=rt.name)
            if hit is not None:
                if rt.metrics is not None:
                    rt.metrics.cache_hit(rt.name, rt.version)
                return adapter.validate_json(hit)
            result = await call(*args, **kwargs)
            try:
                await rt.cache.set(key, adapter.dump_json(result).decode(), ttl=ttl)
            except CacheUnavailable:
                log.warning("tool_cache_unavailable", tool=rt.name)
            return result

        return typing.cast(F, cached)

    return decorate


def with_rate_limit(
    calls: int,
    period: float,
    scope: Literal["user", "global"] = "user",
    *,
    fail_open: bool = True,
) -> Callable[[F], F]:
    """At most `calls` calls per `period` seconds, per user or for everyone, counted
    atomically in the shared `RateLimiter` (correct across server processes).

    Over the limit the call is refused with `ToolRateLimited` (429, `retry_after`). If the
    limiter itself is down, `fail_open` lets calls through (logged) rather than failing
    every call; pass `fail_open=False` for tools guarding something costly.
    """
    if calls < 1 or period <= 0:
        raise ValueError("calls must be >= 1 and period > 0")

    def decorate(fn: F) -> F:
        call = _as_async(fn)

        @functools.wraps(fn)
        async def limited(*args: Any, **kwargs: Any) -> Any:
            rt = _runtime(fn)
            if rt.limiter is not None:
                who = "global" if scope == "global" else str(rt.user_id or "anonymous")
                try:
                    decision = await rt.limiter.hit(f"tool:{rt.name}:{who}", calls, period)
                except CacheUnavailable:
                    log.warning("tool_rate_limiter_unavailable", tool=rt.name)
                    if not fail_open:
                        raise
                else:
                    if not decision.allowed:
                        raise ToolRateLimited(
                            f"Tool {rt.name!r} is rate limited ({calls} calls per "
                            f"{period:g} s); retry in {decision.retry_after:.1f} s.",
                            retry_after=round(decision.retry_after, 3),
                            details={"tool": rt.name, "limit": calls, "period": period},
                        )
            return await call(*args, **kwargs)

        return typing.cast(F, limited)

    return decorate
