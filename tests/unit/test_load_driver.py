"""The load driver of `bench/load.py`: its statistics on known data, and a tiny run against
a real uvicorn on loopback (20 turns, 10 subscriptions; ~2 s) that must finish without errors."""

from __future__ import annotations

import math

import pytest

from bench.load import load
from bench.load_report import markdown, rows
from bench.load_stats import Errors, Stats, percentile


def test_percentile_interpolates_between_closest_ranks() -> None:
    data = [float(x) for x in range(1, 101)]  # 1..100
    assert percentile(data, 50) == pytest.approx(50.5)
    assert percentile(data, 95) == pytest.approx(95.05)
    assert percentile(data, 99) == pytest.approx(99.01)
    assert percentile(data, 0) == 1.0
    assert percentile(data, 100) == 100.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5  # unsorted input
    assert percentile([7.0], 99) == 7.0


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_stats_of_samples() -> None:
    stats = Stats.of([0.010, 0.020, 0.030, 0.040, 1.0])
    assert stats.count == 5
    assert stats.p50 == pytest.approx(0.030)
    assert stats.p95 == pytest.approx(0.040 + (1.0 - 0.040) * 0.8)
    assert stats.p99 == pytest.approx(0.040 + (1.0 - 0.040) * 0.96)
    assert stats.mean == pytest.approx(0.22)
    assert stats.max == 1.0
    empty = Stats.of([])
    assert empty.count == 0 and math.isnan(empty.p50)


def test_errors_count_by_kind_and_keep_one_example() -> None:
    errors = Errors()
    assert errors.total == 0 and errors.summary() == "none"
    errors.add("HTTP 503", "first")
    errors.add("HTTP 503", "second")
    errors.add("ReadTimeout")
    assert errors.total == 3
    assert errors.counts == {"HTTP 503": 2, "ReadTimeout": 1}
    assert errors.examples["HTTP 503"] == "first"
    assert errors.summary() == "HTTP 503 ×2, ReadTimeout ×1"


async def test_a_tiny_load_run_has_no_errors() -> None:
    report = await load(users=4, turns=20, concurrency=5, subscriptions=10)

    turns = report.turns
    assert turns.errors.total == 0, turns.errors.examples
    assert turns.requests == 20 and turns.latency.count == 20 and len(turns.samples) == 20
    assert 0 < turns.latency.p50 <= turns.latency.p95 <= turns.latency.p99 <= turns.latency.max
    assert turns.per_second == pytest.approx(20 / turns.wall)
    assert report.floor.errors.total == 0 and report.floor.latency.count == 20

    subs = report.subscriptions
    assert subs.errors.total == 0, subs.errors.examples
    assert subs.connect.count == subs.first_event.count == subs.done.count == 10
    assert subs.first_event.p50 <= subs.done.p50 and subs.done.max <= subs.wall
    assert subs.events >= 2 * 10  # at least a DELTA and the DONE per subscription

    block = markdown(report)
    assert "| POST /api/v1/agents/assistant/run | 20 | 5 |" in block
    assert "10 concurrent `chat` subscriptions" in block
    (chat_row, subs_row) = rows(report)
    assert chat_row.baseline is not None and chat_row.subject.per_second == turns.per_second
    assert subs_row.subject.p50 == pytest.approx(subs.done.p50)
