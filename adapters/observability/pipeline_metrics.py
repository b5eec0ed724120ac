"""The `PipelineMetrics` port on Prometheus: stage durations and outcomes."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from adapters.observability.metrics import REGISTRY
from domain.pipelines.runs import StageStatus

STAGE_RESULTS = Counter(
    "mai_pipeline_stages_total",
    "Pipeline stages finished, by pipeline, stage and status "
    "(succeeded, failed, skipped, cached, cancelled): success rate = succeeded / all.",
    ["pipeline", "stage", "status"],
    registry=REGISTRY,
)
STAGE_LATENCY = Histogram(
    "mai_pipeline_stage_duration_seconds",
    "Pipeline stage duration, by pipeline and stage.",
    ["pipeline", "stage"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)


class PrometheusPipelineMetrics:
    def stage_finished(
        self, pipeline: str, stage: str, status: StageStatus, seconds: float
    ) -> None:
        STAGE_RESULTS.labels(pipeline, stage, status.value).inc()
        STAGE_LATENCY.labels(pipeline, stage).observe(seconds)
