"""Prometheus metrics the framework exports at `/metrics`.

Metrics live in one module-level registry: prometheus_client's model is process-wide
collectors, and a metric object is cheap and has no I/O.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

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
