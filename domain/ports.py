"""Ports shared across capabilities. Capability-specific ports live beside their models."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from domain.health import AdapterHealth


@runtime_checkable
class HealthCheck(Protocol):
    """Anything the readiness probe can ask: a database, a cache, a model server."""

    name: str

    async def check(self) -> AdapterHealth: ...


class Clock(Protocol):
    """The current time, injectable so tests can move it."""

    def now(self) -> datetime: ...
