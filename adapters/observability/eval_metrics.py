"""The last score of each eval dataset as a Prometheus gauge (`mai_eval_score`)."""

from __future__ import annotations

from prometheus_client import Gauge

from adapters.observability.metrics import REGISTRY
from domain.evals.models import EvalRun

EVAL_SCORE = Gauge(
    "mai_eval_score",
    "Score of the latest eval run per dataset: the mean case score (agent) or recall@10 "
    "(memory), 0..1.",
    ["kind", "dataset", "target"],
    registry=REGISTRY,
)


class PrometheusEvalMetrics:
    def record(self, run: EvalRun) -> None:
        EVAL_SCORE.labels(run.kind.value, run.dataset, run.target).set(run.score)
