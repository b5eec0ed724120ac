"""Prometheus counters of GraphQL operations (the HTTP metrics see only `POST /graphql`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from adapters.observability.metrics import REGISTRY

GRAPHQL_OPERATIONS = Counter(
    "mai_graphql_operations_total",
    "GraphQL operations, by type (query, mutation, subscription), name and outcome.",
    ["type", "name", "outcome"],
    registry=REGISTRY,
)
GRAPHQL_LATENCY = Histogram(
    "mai_graphql_operation_duration_seconds",
    "GraphQL operation latency (subscriptions: until the stream ends), by type and name.",
    ["type", "name"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
    registry=REGISTRY,
)


def operation_finished(kind: str, name: str, ok: bool, seconds: float) -> None:
    GRAPHQL_OPERATIONS.labels(kind, name, "ok" if ok else "error").inc()
    GRAPHQL_LATENCY.labels(kind, name).observe(seconds)
