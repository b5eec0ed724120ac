"""Ports shared across capabilities. Capability-specific ports live beside their models."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from domain.health import AdapterHealth

T = TypeVar("T")


@runtime_checkable
class HealthCheck(Protocol):
    """Anything the readiness probe can ask: a database, a cache, a model server."""

    name: str

    async def check(self) -> AdapterHealth: ...


class Clock(Protocol):
    """The current time, injectable so tests can move it."""

    def now(self) -> datetime: ...


class Cache(Protocol):
    """A shared key → text cache with expiry (Redis in production, a dict in process).

    Values are text (callers encode JSON). Every operation may raise `CacheUnavailable`;
    a cache is never the source of truth, so callers treat that as a miss and go on.
    Keys are the caller's; the adapter adds its own namespace.
    """

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        """Store `value` for `ttl` seconds (None = until evicted or deleted)."""

    async def delete(self, key: str) -> None: ...

    async def delete_prefix(self, prefix: str) -> int:
        """Drop every key starting with `prefix` (invalidation); returns how many."""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer of a rate limiter for one call."""

    allowed: bool
    remaining: int  # calls left in the current window after this one (0 when refused)
    retry_after: float  # seconds until the window resets (0 when allowed)


class RateLimiter(Protocol):
    """Counts calls per key in fixed windows, atomically and across processes."""

    async def hit(self, key: str, limit: int, period: float) -> RateDecision:
        """Count one call against `key`: allowed while at most `limit` calls fall in the
        current `period`-second window. May raise `CacheUnavailable`."""


class EventBus(Protocol):
    """Fan-out of events by channel, across server processes (Redis pub/sub in production,
    in-process queues in the embedded profile). Delivery is at-most-once to subscribers
    listening when the event is published: a late subscriber reads the state first."""

    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Listen on `channel` inside the `async with`; events arrive in publish order."""


class BackgroundTasks(Protocol):
    """Work that outlives the call starting it (the memory written after a turn, a turn's
    published events, a summary, a pipeline run), owned by the running application: kept
    alive until it ends, drained at shutdown within a grace period, its failures logged.

    `spawn` hands back the work's outcome, for a caller that wants to wait for it; a caller
    that stops waiting does not stop the work."""

    def spawn(self, work: Coroutine[Any, Any, T], *, name: str) -> asyncio.Future[T]: ...

    async def drain(self) -> None:
        """Wait until no background work is left (work that work started included)."""
