"""Spans for `HasMatchingSpan`: pydantic-evals reads each case's spans from the global
OpenTelemetry tracer provider, so an eval run installs an SDK provider (when none is set)
and turns on Pydantic AI's instrumentation of every agent. Nothing is exported."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from pydantic_ai import Agent, InstrumentationSettings


@contextmanager
def recording_spans() -> Iterator[None]:
    """Agents are instrumented for the block only (the CLI traces nothing otherwise)."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    Agent.instrument_all(InstrumentationSettings(include_content=False))
    try:
        yield
    finally:
        Agent.instrument_all(False)
