"""Readiness: ask every adapter of the active profile, concurrently, with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from domain.health import AdapterHealth, Readiness
from domain.ports import HealthCheck


class CheckReadiness:
    def __init__(self, checks: Sequence[HealthCheck], timeout_seconds: float = 3.0) -> None:
        self._checks = list(checks)
        self._timeout = timeout_seconds

    async def _one(self, check: HealthCheck) -> AdapterHealth:
        try:
            return await asyncio.wait_for(check.check(), self._timeout)
        except TimeoutError:
            return AdapterHealth(check.name, False, "unknown", detail="timed out")

    async def execute(self) -> Readiness:
        results = await asyncio.gather(*(self._one(c) for c in self._checks))
        return Readiness(tuple(results))
