"""`FakeClock`: the one test clock.

It is both clocks the code takes: the `Clock` port (`now()`, an aware datetime: what memories,
keys and runs are stamped with) and a monotonic clock (call it: seconds, what caches, rate
limiters and TTLs measure with). Both stand still until a test moves them together with
`advance`, so an expiry or a decay is a step the test takes, never a wait. Code that wants
the real time takes `adapters.clock.SystemClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, at: datetime | None = None) -> None:
        self.at = at if at is not None else datetime.now(UTC)
        self.seconds = 1000.0

    def now(self) -> datetime:
        return self.at

    def __call__(self) -> float:
        return self.seconds

    def advance(self, by: float | timedelta) -> None:
        """Move both clocks on by `by` (seconds, or a timedelta)."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        self.at += step
        self.seconds += step.total_seconds()
