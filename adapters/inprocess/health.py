"""Health of adapters that live inside this process (nothing remote to ask)."""

from __future__ import annotations

from domain.health import AdapterHealth


class InProcessHealth:
    """An in-process adapter is up exactly as long as the process is."""

    def __init__(self, name: str, backend: str, *, required: bool = True) -> None:
        self.name = name
        self._backend = backend
        self._required = required

    async def check(self) -> AdapterHealth:
        return AdapterHealth(
            self.name, True, self._backend, required=self._required, latency_ms=0.0
        )
