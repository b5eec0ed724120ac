"""Health of the adapters a profile runs on, and the readiness rule over them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AdapterHealth:
    """One adapter's answer to "can you serve right now?"."""

    name: str
    ok: bool
    backend: str
    detail: str = ""
    required: bool = True
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Readiness:
    """The service is ready when every adapter the profile requires is up.

    An optional adapter being down (e.g. a cache that can be rebuilt) degrades the
    service but does not make it unready.
    """

    adapters: tuple[AdapterHealth, ...] = field(default_factory=tuple)

    @property
    def ready(self) -> bool:
        return all(a.ok for a in self.adapters if a.required)

    @property
    def degraded(self) -> bool:
        return any(not a.ok for a in self.adapters if not a.required)

    @property
    def status(self) -> str:
        if not self.ready:
            return "unavailable"
        return "degraded" if self.degraded else "ok"
