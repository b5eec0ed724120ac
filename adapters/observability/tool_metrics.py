"""The `ToolMetrics` port on Prometheus: calls by outcome, latency, cache hits, retries."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from adapters.observability.metrics import REGISTRY

TOOL_CALLS = Counter(
    "mai_tool_calls_total",
    "Tool calls, by tool, version and outcome "
    "(ok, error, timeout, rate_limited, refused, approval_required).",
    ["tool", "version", "outcome"],
    registry=REGISTRY,
)
TOOL_LATENCY = Histogram(
    "mai_tool_call_duration_seconds",
    "Tool call latency, by tool.",
    ["tool"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
TOOL_CACHE_HITS = Counter(
    "mai_tool_cache_hits_total",
    "Tool results served from the cache.",
    ["tool", "version"],
    registry=REGISTRY,
)
TOOL_RETRIES = Counter(
    "mai_tool_retries_total",
    "Tool call attempts after the first.",
    ["tool", "version"],
    registry=REGISTRY,
)


class PrometheusToolMetrics:
    def call_finished(self, tool: str, version: str, outcome: str, seconds: float) -> None:
        TOOL_CALLS.labels(tool, version, outcome).inc()
        TOOL_LATENCY.labels(tool).observe(seconds)

    def cache_hit(self, tool: str, version: str) -> None:
        TOOL_CACHE_HITS.labels(tool, version).inc()

    def retried(self, tool: str, version: str) -> None:
        TOOL_RETRIES.labels(tool, version).inc()
