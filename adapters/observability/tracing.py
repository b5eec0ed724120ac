"""OpenTelemetry traces (Pydantic AI's own instrumentation) and Sentry, both by settings.

`OBSERVABILITY__OTLP_ENDPOINT` (e.g. `http://collector:4318`) turns on traces of every agent
run (model requests, tool calls, token usage) exported over OTLP/HTTP;
`OBSERVABILITY__INCLUDE_CONTENT=false` keeps prompts and replies out of the spans.
`OBSERVABILITY__SENTRY_DSN` sends unhandled errors to Sentry (no personal data). Both are
off by default and cost nothing then.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.settings import Settings


def configure_tracing(settings: Settings) -> Callable[[], None] | None:
    """Instrument every agent; returns the flush-and-shutdown to call at exit."""
    obs = settings.observability
    if not obs.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from pydantic_ai import Agent, InstrumentationSettings

    endpoint = obs.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": obs.service_name, "deployment.environment": settings.environment}
        )
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    Agent.instrument_all(
        InstrumentationSettings(tracer_provider=provider, include_content=obs.include_content)
    )

    def shutdown() -> None:
        Agent.instrument_all(False)
        provider.shutdown()  # flushes what is still batched

    return shutdown


def configure_sentry(settings: Settings) -> bool:
    dsn = settings.observability.sentry_dsn
    if dsn is None or not dsn.get_secret_value():
        return False
    import sentry_sdk
    from sentry_sdk.integrations.strawberry import StrawberryIntegration

    sentry_sdk.init(
        dsn=dsn.get_secret_value(),
        integrations=[StrawberryIntegration(async_execution=True)],  # our resolvers are async
        environment=settings.environment,
        traces_sample_rate=settings.observability.sentry_traces_sample_rate,
    )  # personal data stays out: the SDK's default
    return True
