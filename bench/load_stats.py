"""What a load run measures (`bench/load.py`): percentiles, latency statistics, errors by
kind, and the results of each part of the run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(samples: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0–100) by linear interpolation between closest ranks (numpy's
    default): p50 of [1, 2, 3, 4] is 2.5, p100 is the maximum."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    count: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, nan)
        return cls(
            count=len(samples),
            p50=percentile(samples, 50),
            p95=percentile(samples, 95),
            p99=percentile(samples, 99),
            mean=sum(samples) / len(samples),
            max=max(samples),
        )


@dataclass
class Errors:
    """Failures by kind ("HTTP 500", "ReadTimeout", "ERROR event", …), with one example each."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, example: str = "") -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.examples.setdefault(kind, example[:300])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        return ", ".join(f"{k} ×{n}" for k, n in sorted(self.counts.items())) or "none"


@dataclass(frozen=True)
class RequestResult:
    """A fixed number of requests at a fixed concurrency: throughput, latency, errors."""

    name: str
    requests: int
    concurrency: int
    wall: float
    latency: Stats
    errors: Errors
    samples: list[float]  # seconds, one per answered request

    @property
    def per_second(self) -> float:
        return self.requests / self.wall if self.wall else float("inf")


@dataclass(frozen=True)
class SubscriptionResult:
    clients: int
    connect: Stats  # TCP + WebSocket upgrade + connection_init → connection_ack
    first_event: Stats  # subscribe sent → first `next`
    done: Stats  # subscribe sent → the DONE event
    wall: float  # the common subscribe instant → the last client's DONE
    events: int
    errors: Errors
    done_samples: list[float]  # seconds, subscribe → DONE per client


@dataclass(frozen=True)
class LoadReport:
    profile: str
    users: int
    floor: RequestResult
    turns: RequestResult
    subscriptions: SubscriptionResult
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    nofile: int
