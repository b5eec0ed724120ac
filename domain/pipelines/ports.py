"""Ports of the pipelines capability: who runs a pipeline, where runs are kept, and the
optional hooks (progress events, metrics) an executor reports to."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from domain.pagination import Page
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.runs import PipelineRun, StageEvent, StageStatus

__all__ = ["PipelineExecutor", "PipelineMetrics", "PipelineRunStore", "StageEventSink"]


class StageEventSink(Protocol):
    """Receives each stage event as it happens (a subscription's queue, a CLI progress
    bar). Called on the event loop: it must not block; its errors are logged, not raised."""

    def __call__(self, event: StageEvent, /) -> None: ...


class PipelineMetrics(Protocol):
    """Where stage timings go (Prometheus later): one call per stage of a run, when it
    ends (skipped stages too, with 0 seconds). Its errors are logged, not raised."""

    def stage_finished(
        self, pipeline: str, stage: str, status: StageStatus, seconds: float
    ) -> None: ...


class PipelineExecutor(Protocol):
    """Runs a validated pipeline with an input for a user and reports the run.

    In process (asyncio) for now; a durable implementation runs the same pipeline as a
    workflow (the run id is its workflow id, so a resumed run keeps its identity). Stage
    failures are never raised: they are in the returned run. Raises `ValidationFailed`
    when the input does not fit the pipeline's `input_type`.
    """

    async def run(
        self,
        pipeline: Pipeline[Any, Any],
        input: Any,
        *,
        user_id: UUID,
        run_id: UUID | None = None,
        on_event: StageEventSink | None = None,
    ) -> PipelineRun: ...


class PipelineRunStore(Protocol):
    """The runs of each user. Every read is scoped by the owner: another user's run is
    simply not found (None), never revealed."""

    async def save(self, run: PipelineRun) -> None:
        """Insert or replace the run (saved when it starts and again when it ends)."""

    async def get(self, run_id: UUID, user_id: UUID) -> PipelineRun | None: ...

    async def list(
        self, user_id: UUID, limit: int = 50, after: str | None = None
    ) -> Page[PipelineRun]:
        """The user's runs, newest first (`created_at`, then id), cursor-paged."""
