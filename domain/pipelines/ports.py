"""Ports of the pipelines capability: who runs a pipeline, where runs are kept, the
optional hooks (progress events, metrics) an executor reports to, and the parts an
executor plugs into the one scheduler (the catalog it finds pipelines in, the step
runner that carries out each stage)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from domain.pagination import Page
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.runs import PipelineRun, StageEvent, StageResult, StageStatus
from domain.pipelines.scheduling import StageSkip

__all__ = [
    "PipelineCatalog",
    "PipelineExecutor",
    "PipelineMetrics",
    "PipelineRunStore",
    "RunScheduler",
    "StageEventSink",
    "StepRunner",
    "StepRunnerFactory",
]


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

    async def page(
        self, user_id: UUID, limit: int = 50, after: str | None = None
    ) -> Page[PipelineRun]:
        """The user's runs, newest first (`created_at`, then id), cursor-paged."""


class PipelineCatalog(Protocol):
    """The pipelines a process can run, by name: a durable run is recorded by name and
    rebuilt from it by whichever worker runs it. Raises `NotFound` for an unknown name."""

    def get(self, name: str) -> Pipeline[Any, Any]: ...


class StepRunner(Protocol):
    """Carries out the scheduler's steps for one run: the part that differs between
    executors. In process each step is a direct call; on DBOS each is a durable step
    whose result is checkpointed and replayed after a crash. The scheduler decides what
    runs and records what these return into the run.

    `ordered_replay` is True when steps are replayed by their position: the scheduler
    then starts them in an order that depends only on recorded results (in waves).
    """

    @property
    def ordered_replay(self) -> bool: ...

    async def run_stage(self, stage: str) -> StageResult:
        """Run `stage` (its dependencies' outputs are in the run) and return its result.
        Stage failures are results, never raised. When cancelled, the cancelled result
        is recorded in the run before the cancellation propagates."""
        ...

    async def skip(self, skips: Sequence[StageSkip]) -> list[StageResult]:
        """Record these stages as skipped (events and metrics included), in order."""
        ...


class StepRunnerFactory(Protocol):
    """Makes the step runner of one run; `run` receives the results it records."""

    def __call__(
        self,
        pipeline: Pipeline[Any, Any],
        run: PipelineRun,
        on_event: StageEventSink | None = None,
    ) -> StepRunner: ...


class RunScheduler(Protocol):
    """Runs the stages of a started run through `steps` until none is left, recording
    their results in `run` (the run's start and finish are the executor's)."""

    async def __call__(
        self, pipeline: Pipeline[Any, Any], run: PipelineRun, steps: StepRunner
    ) -> None: ...
