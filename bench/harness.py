"""A tiny benchmark harness: time a coroutine many times, compare with a baseline run in
the same process, report percentiles and the ratio. No timed assertions anywhere."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    samples: list[float]  # seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def per_second(self) -> float:
        return 1.0 / self.mean if self.mean else float("inf")


@dataclass(frozen=True)
class Row:
    """One line of the report: a measurement, and its baseline when it has one."""

    name: str
    subject: Timing
    baseline: Timing | None = None
    baseline_name: str = ""
    note: str = ""
    unit: str = "s"  # what the samples count: seconds, or e.g. "tokens"

    def fmt(self, value: float) -> str:
        return fmt_seconds(value) if self.unit == "s" else f"{value:,.0f} {self.unit}"

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline.p50 == 0:
            return None  # no baseline, or one below its clock's resolution
        return self.subject.p50 / self.baseline.p50


async def time_async(fn: Callable[[], Awaitable[object]], *, n: int, warmup: int = 20) -> Timing:
    for _ in range(warmup):
        await fn()
    gc.collect()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return Timing(samples)


def time_sync(fn: Callable[[], object], *, n: int, warmup: int = 20) -> Timing:
    for _ in range(warmup):
        fn()
    gc.collect()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return Timing(samples)


async def compare(
    subject: Callable[[], Awaitable[object]],
    baseline: Callable[[], Awaitable[object]],
    *,
    n: int,
    rounds: int = 3,
) -> tuple[Timing, Timing]:
    """Interleave rounds of subject and baseline so drift (thermal, GC) hits both alike."""
    subject_samples: list[float] = []
    baseline_samples: list[float] = []
    for _ in range(rounds):
        baseline_samples += (await time_async(baseline, n=n // rounds)).samples
        subject_samples += (await time_async(subject, n=n // rounds)).samples
    return Timing(subject_samples), Timing(baseline_samples)


def fmt_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
