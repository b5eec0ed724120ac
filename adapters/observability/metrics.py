"""Prometheus metrics the framework exports at `/metrics`.

Metrics live in one module-level registry: prometheus_client's model is process-wide
collectors, and a metric object is cheap and has no I/O.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase

from domain.agents.models import TurnUsage

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "mai_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "mai_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "mai_errors_total",
    "Errors reported to users, by transport and error code.",
    ["transport", "code"],
    registry=REGISTRY,
)


def render_latest() -> tuple[bytes, str]:
    """The exposition body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


AGENT_RUNS = Counter(
    "mai_agent_runs_total", "Chat turns started, by agent.", ["agent"], registry=REGISTRY
)
AGENT_OUTCOMES = Counter(
    "mai_agent_turns_total",
    "Chat turns finished, by agent and outcome (ok or an error code).",
    ["agent", "outcome"],
    registry=REGISTRY,
)
AGENT_LATENCY = Histogram(
    "mai_agent_turn_duration_seconds",
    "Chat turn latency, by agent.",
    ["agent"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
AGENT_TTFT = Histogram(
    "mai_agent_time_to_first_token_seconds",
    "Time from the start of a streamed turn to its first text delta, by agent.",
    ["agent"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
AGENT_TOKENS = Counter(
    "mai_agent_tokens_total",
    "LLM tokens used by chat turns, by agent and direction (input/output; cached: the "
    "input tokens the server's prompt cache served, where it reports them).",
    ["agent", "direction"],
    registry=REGISTRY,
)
AGENT_TOOL_CALLS = Counter(
    "mai_agent_tool_calls_total",
    "Tool calls made by chat turns, by agent.",
    ["agent"],
    registry=REGISTRY,
)


class PrometheusChatMetrics:
    """The `ChatMetrics` port on the Prometheus registry above.

    A labelled series is looked up once and kept: `labels()` validates and hashes the
    label values and takes the metric's lock on each call, seven times a turn. The kept
    series is the one `labels()` returns, created at the same moment (its first use), so
    the exported samples are the same."""

    def __init__(self) -> None:
        self._series: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}

    def _labels(self, metric: MetricWrapperBase, *values: str) -> Any:
        key = (metric, values)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metric.labels(*values)
        return series

    def turn_started(self, agent: str) -> None:
        self._labels(AGENT_RUNS, agent).inc()

    def first_token(self, agent: str, seconds: float) -> None:
        self._labels(AGENT_TTFT, agent).observe(seconds)

    def turn_finished(
        self, agent: str, outcome: str, seconds: float, usage: TurnUsage | None
    ) -> None:
        self._labels(AGENT_OUTCOMES, agent, outcome).inc()
        self._labels(AGENT_LATENCY, agent).observe(seconds)
        if usage is not None:
            self._labels(AGENT_TOKENS, agent, "input").inc(usage.input_tokens)
            self._labels(AGENT_TOKENS, agent, "output").inc(usage.output_tokens)
            self._labels(AGENT_TOKENS, agent, "cached").inc(usage.cached_tokens)
            self._labels(AGENT_TOOL_CALLS, agent).inc(usage.tool_calls)
