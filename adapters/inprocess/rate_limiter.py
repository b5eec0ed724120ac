"""`RateLimiter` in process: the embedded profile's limiter and the tests' fake.

Same fixed windows as `RedisRateLimiter` (the contract suite runs on both): a window
starts at a key's first hit and lasts `period` seconds on a monotonic clock (injectable,
so tests move time instead of sleeping). Counts only this process's calls: correct for
a single-process embedded server, not for several workers (use Redis there).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from domain.ports import RateDecision

SWEEP_MIN = 1024  # windows kept before expired ones are swept out


@dataclass(slots=True)
class _Window:
    count: int
    ends_at: float


class InProcessRateLimiter:
    """Counters in a dict.

    Atomic under asyncio without a lock: `hit` does its work synchronously (no `await`
    inside), so concurrent tasks are counted one after another. Not thread-safe.
    Expired windows are swept whenever the dict has doubled since the last sweep, so
    memory follows the number of recently active keys.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.windows: dict[str, _Window] = {}
        self._clock = clock
        self._sweep_at = SWEEP_MIN

    async def hit(self, key: str, limit: int, period: float) -> RateDecision:
        if not key:
            raise ValueError("rate limit keys cannot be empty")
        if limit < 0:
            raise ValueError("limit cannot be negative")
        if period <= 0:
            raise ValueError("period must be positive")
        now = self._clock()
        window = self.windows.get(key)
        if window is None or window.ends_at <= now:
            window = self.windows[key] = _Window(0, now + period)
            self._sweep(now)
        window.count += 1
        if window.count <= limit:
            return RateDecision(allowed=True, remaining=limit - window.count, retry_after=0.0)
        return RateDecision(allowed=False, remaining=0, retry_after=window.ends_at - now)

    def _sweep(self, now: float) -> None:
        if len(self.windows) < self._sweep_at:
            return
        for key in [k for k, w in self.windows.items() if w.ends_at <= now]:
            del self.windows[key]
        self._sweep_at = max(SWEEP_MIN, 2 * len(self.windows))
