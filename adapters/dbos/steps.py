"""The steps of a durable pipeline run, and what they run with in this process.

Each function here runs as one DBOS step (`step`): its return value is checkpointed, so
on replay it is not run again and its side effects (the run record saved, the stage's
events streamed, its metrics reported) happen once per completed step. `DurableStepRunner`
is the `StepRunner` the scheduler gets in a workflow: each stage, each batch of skips,
one step, carried out inside by the direct step runner the composition root injected.
`WorkerRuntime` is the process's live objects: DBOS finds workflows by name, so they read
these from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog
from dbos import DBOS, StepOptions

from domain.errors import ConfigurationError
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.ports import (
    PipelineCatalog,
    PipelineRunStore,
    RunScheduler,
    StepRunnerFactory,
)
from domain.pipelines.runs import PipelineRun, StageEvent, StageResult
from domain.pipelines.scheduling import StageSkip
from domain.ports import Clock

__all__ = [
    "EVENTS_STREAM",
    "STORE_STEP",
    "DurableStepRunner",
    "WorkerRuntime",
    "current_runtime",
    "install",
    "step",
]

log = structlog.get_logger("mai.pipelines.dbos")
T = TypeVar("T")
EVENTS_STREAM = "stage-events"
# Run records are saved through the store; a brief outage should not fail the run.
STORE_STEP = StepOptions(retries_allowed=True, max_attempts=5, interval_seconds=0.5)


@dataclass(slots=True)
class WorkerRuntime:
    """What this process's workflows run with. DBOS finds a workflow by name, so the
    workflow function is module-level and reads the live objects from here: the
    pipelines by name, the scheduler and the step runner inside each step (both
    injected by the composition root), the run store."""

    catalog: PipelineCatalog
    clock: Clock
    scheduler: RunScheduler
    steps: StepRunnerFactory
    store: PipelineRunStore | None = None


_runtime: WorkerRuntime | None = None


def install(runtime: WorkerRuntime | None) -> None:
    global _runtime
    _runtime = runtime


def current_runtime() -> WorkerRuntime:
    if _runtime is None:
        raise ConfigurationError("No DBOS pipeline executor was started in this process.")
    return _runtime


async def step(
    options: StepOptions, name: str, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any
) -> T:
    named: StepOptions = {**options, "name": name}
    result: T = await DBOS.run_step_async(named, fn, *args)
    return result


async def save_started(rt: WorkerRuntime, run: PipelineRun) -> datetime:
    now = rt.clock.now()
    run.start(now)
    if rt.store is not None:
        await rt.store.save(run)
    return now


async def save_finished(
    rt: WorkerRuntime, pipeline: Pipeline[Any, Any], run: PipelineRun
) -> PipelineRun:
    run.finish(rt.clock.now(), pipeline.output)
    if rt.store is not None:
        await rt.store.save(run)
    return run


class DurableStepRunner:
    """The `StepRunner` of a workflow: one DBOS step per stage (`stage:<name>`), one per
    batch of skips (`stages:skip`). Steps are replayed by position, so the scheduler runs
    in waves (`ordered_replay`). Each step works on a scratch record of the run holding
    only what it needs (the stage's dependencies), so a stage cancelled by `fail_fast`
    (its step then checkpoints nothing) still leaves its result behind."""

    ordered_replay = True

    def __init__(
        self, rt: WorkerRuntime, pipeline: Pipeline[Any, Any], run: PipelineRun, stream: bool
    ) -> None:
        self._rt, self._pipeline, self._run, self._stream = rt, pipeline, run, stream

    def _scratch(self, *stages: str) -> PipelineRun:
        run = self._run
        scratch = PipelineRun(run.pipeline, run.user_id, run.input, id=run.id)
        for name in stages:
            scratch.record(run.stages[name])
        return scratch

    async def run_stage(self, stage: str) -> StageResult:
        scratch = self._scratch(*self._pipeline.stage(stage).depends_on)
        args = (self._rt, self._pipeline, scratch, stage, self._stream)
        try:
            return await step({}, f"stage:{stage}", run_stage, *args)
        except asyncio.CancelledError:
            cancelled = scratch.stages.get(stage)
            if cancelled is not None:
                self._run.record(cancelled)
            raise

    async def skip(self, skips: Sequence[StageSkip]) -> list[StageResult]:
        args = (self._rt, self._pipeline, self._scratch(), list(skips), self._stream)
        return await step({}, "stages:skip", record_skips, *args)


class _EventWriter:
    """The events of one step, appended in order to the run's stream. Created inside the
    step, so its writer task carries the step's DBOS context. Best effort: a failed
    write is logged, never fails the stage."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[StageEvent | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump())

    def __call__(self, event: StageEvent) -> None:
        self._queue.put_nowait(event)

    async def _pump(self) -> None:
        while (event := await self._queue.get()) is not None:
            try:
                await DBOS.write_stream_async(EVENTS_STREAM, event)
            except Exception as exc:
                log.warning("pipeline_event_not_streamed", error_type=type(exc).__name__)

    async def close(self) -> None:
        self._queue.put_nowait(None)
        await self._task


async def run_stage(
    rt: WorkerRuntime,
    pipeline: Pipeline[Any, Any],
    scratch: PipelineRun,
    name: str,
    stream_events: bool,
) -> StageResult:
    """One stage as one step, run by the injected (direct) step runner on `scratch`."""
    writer = _EventWriter() if stream_events else None
    try:
        return await rt.steps(pipeline, scratch, writer).run_stage(name)
    finally:
        if writer is not None:
            await writer.close()


async def record_skips(
    rt: WorkerRuntime,
    pipeline: Pipeline[Any, Any],
    scratch: PipelineRun,
    skips: list[StageSkip],
    stream_events: bool,
) -> list[StageResult]:
    """Skipped stages as one step, so their events and metrics are reported once."""
    writer = _EventWriter() if stream_events else None
    try:
        return await rt.steps(pipeline, scratch, writer).skip(skips)
    finally:
        if writer is not None:
            await writer.close()
