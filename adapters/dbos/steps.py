"""The steps of a durable pipeline run, and what they run with in this process.

Each function here runs as one DBOS step (`step`): its return value is checkpointed, so
on replay it is not run again and its side effects (the run record saved, the stage's
events streamed, its metrics reported) happen once per completed step. `WorkerRuntime` is
the process's live objects: DBOS finds workflows by name, so they read these from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog
from dbos import DBOS, StepOptions

from application.pipelines.registry import PipelineRegistry
from application.pipelines.stage_runner import RunScope, Sleep, StageRunner
from domain.errors import ConfigurationError
from domain.pipelines.pipeline import ErrorStrategy, Pipeline
from domain.pipelines.ports import PipelineMetrics, PipelineRunStore
from domain.pipelines.runs import PipelineRun, StageEvent, StageResult
from domain.ports import Cache, Clock

__all__ = ["EVENTS_STREAM", "STORE_STEP", "WorkerRuntime", "current_runtime", "install", "step"]

log = structlog.get_logger("mai.pipelines.dbos")
T = TypeVar("T")
EVENTS_STREAM = "stage-events"
# Run records are saved through the store; a brief outage should not fail the run.
STORE_STEP = StepOptions(retries_allowed=True, max_attempts=5, interval_seconds=0.5)


@dataclass(slots=True)
class WorkerRuntime:
    """What this process's workflows run with. DBOS finds a workflow by name, so the
    workflow function is module-level and reads the live objects from here."""

    registry: PipelineRegistry
    clock: Clock
    store: PipelineRunStore | None = None
    metrics: PipelineMetrics | None = None
    cache: Cache | None = None
    cache_ttl: float | None = None
    sleep: Sleep = asyncio.sleep


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


def _scope(
    rt: WorkerRuntime, pipeline: Pipeline[Any, Any], run: PipelineRun, **kw: Any
) -> RunScope:
    return RunScope(pipeline, run, rt.clock, metrics=rt.metrics, **kw)


async def run_stage(
    rt: WorkerRuntime,
    pipeline: Pipeline[Any, Any],
    scratch: PipelineRun,
    outputs: dict[str, Any],
    name: str,
    stream_events: bool,
) -> StageResult:
    """One stage as one step: `scratch` is the stage's own record, so a stage cancelled
    by `fail_fast` (the step then records nothing) still leaves its result behind."""
    writer = _EventWriter() if stream_events else None
    scope = _scope(rt, pipeline, scratch, on_event=writer, outputs=outputs)
    runner = StageRunner(
        retrying=pipeline.error_strategy is ErrorStrategy.RETRY,
        cache=rt.cache,
        cache_ttl=rt.cache_ttl,
        sleep=rt.sleep,
    )
    try:
        await runner.run(scope, pipeline.stage(name))
    finally:
        if writer is not None:
            await writer.close()
    return scratch.stages[name]


async def record_skips(
    rt: WorkerRuntime,
    pipeline: Pipeline[Any, Any],
    scratch: PipelineRun,
    skips: list[tuple[str, str, str, dict[str, Any]]],
    stream_events: bool,
) -> list[StageResult]:
    """Skipped stages as one step, so their events and metrics are reported once."""
    writer = _EventWriter() if stream_events else None
    scope = _scope(rt, pipeline, scratch, on_event=writer)
    try:
        for stage, code, message, details in skips:
            scope.skip(stage, code, message, **details)
    finally:
        if writer is not None:
            await writer.close()
    return [scratch.stages[stage] for stage, *_ in skips]
