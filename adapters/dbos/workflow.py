"""The durable run: one DBOS workflow per pipeline run, one DBOS step per stage.

A step's result is checkpointed in DBOS's system database when it returns, so a workflow
resumed after a crash replays finished stages from their checkpoints and runs only the
rest. Stage failures are results (`StageRunner` never raises them), so a failed stage is
checkpointed like a succeeded one and is not retried by recovery either.

DBOS recognises a step on replay by its position in the workflow (with its name checked),
so steps must start in the same order every time. Hence stages run layer by layer
(`Pipeline.layers`): a layer's stages start together in declaration order, at most
`max_concurrency` at a time in fixed batches (one at a time in `sequential` mode). `dag`
mode runs like `parallel` here: a stage may wait for an unrelated, slower stage of the
previous layer, the price of a deterministic step order.

Inside a stage's step, `StageRunner` does what it does in process: attempts, `retry`
backoff (tenacity, so RETRYING events and `attempts` are reported as in process; a crash
mid-retry restarts the stage's attempts), timeouts and the results cache. Events are
written to the run's DBOS stream (`EVENTS_STREAM`) so a caller in any process can follow.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

from dbos import DBOS

from adapters.dbos.steps import (
    EVENTS_STREAM,
    STORE_STEP,
    WorkerRuntime,
    current_runtime,
    record_skips,
    run_stage,
    save_finished,
    save_started,
    step,
)
from domain.pipelines.pipeline import ErrorStrategy, ExecutionMode, Pipeline
from domain.pipelines.runs import PipelineRun, StageResult, StageStatus

__all__ = ["WORKFLOW_NAME", "pipeline_workflow"]

WORKFLOW_NAME = "mai.pipelines.run"


@DBOS.workflow(name=WORKFLOW_NAME)
async def pipeline_workflow(
    pipeline_name: str,
    run_id: str,
    user_id: str,
    input: Any,
    created_at: datetime,
    stream_events: bool,
) -> PipelineRun:
    """Run the registered pipeline `pipeline_name`; the workflow id is `run_id`."""
    rt = current_runtime()
    pipeline = rt.registry.get(pipeline_name)
    run = PipelineRun(pipeline.name, UUID(user_id), input, id=UUID(run_id), created_at=created_at)
    run.start(await step(STORE_STEP, "run:start", save_started, rt, run))
    await _DurableScheduler(rt, pipeline, run, stream_events).execute()
    done = await step(STORE_STEP, "run:finish", save_finished, rt, pipeline, run)
    if stream_events:
        await DBOS.close_stream_async(EVENTS_STREAM)
    return done


class _DurableScheduler:
    """Layers in order, fixed batches inside a layer, the error strategy between them."""

    def __init__(
        self,
        rt: WorkerRuntime,
        pipeline: Pipeline[Any, Any],
        run: PipelineRun,
        stream_events: bool,
    ) -> None:
        self.rt, self.pipeline, self.target, self.stream = rt, pipeline, run, stream_events
        self.limit = 1 if pipeline.mode is ExecutionMode.SEQUENTIAL else pipeline.max_concurrency
        self.stops = pipeline.error_strategy is not ErrorStrategy.CONTINUE
        self.outputs: dict[str, Any] = {}
        self.failed: str | None = None  # the failure that stopped the run (fail_fast/retry)
        self.skips: list[tuple[str, str, str, dict[str, Any]]] = []

    def _scratch(self) -> PipelineRun:
        run = self.target
        return PipelineRun(run.pipeline, run.user_id, run.input, id=run.id)

    def _record(self, result: StageResult) -> None:
        self.target.record(result)
        if result.status.has_output:
            self.outputs[result.stage] = result.output
        elif result.status is StageStatus.FAILED and self.stops and self.failed is None:
            self.failed = result.stage

    def _runnable(self, name: str) -> bool:
        """False (and the skip noted) when `name` can no longer run."""
        if self.failed is not None:
            reason = f"Not run: stage {self.failed!r} failed and the run stopped."
            self.skips.append((name, "RUN_ABORTED", reason, {"failed_stage": self.failed}))
            return False
        for dep in self.pipeline.stage(name).depends_on:
            if dep not in self.outputs:
                status = self.target.stages[dep].status.value
                reason = f"Not run: dependency {dep!r} {status}."
                self.skips.append((name, "DEPENDENCY_FAILED", reason, {"dependency": dep}))
                return False
        return True

    async def _flush_skips(self) -> None:
        if self.skips:
            skips, self.skips = self.skips, []
            args = (self.rt, self.pipeline, self._scratch(), skips, self.stream)
            for result in await step({}, "stages:skip", record_skips, *args):
                self._record(result)

    async def execute(self) -> None:
        for layer in self.pipeline.layers:
            ready = [name for name in layer if self._runnable(name)]
            for i in range(0, len(ready), self.limit):
                batch = [name for name in ready[i : i + self.limit] if self._runnable(name)]
                await self._flush_skips()
                if batch:
                    await self._run_batch(batch)
        await self._flush_skips()

    async def _run_batch(self, batch: list[str]) -> None:
        """Start the batch's steps in order (all reserve their step ids before any can
        finish), record each result as it comes, cancel the rest on a stopping failure."""
        scratches = {name: self._scratch() for name in batch}
        tasks = {
            asyncio.create_task(self._stage(name, scratches[name]), name=name): name
            for name in batch
        }
        pending = set(tasks)
        try:
            while pending and self.failed is None:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: batch.index(tasks[t])):
                    self._record(task.result())
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in pending:  # cancelled by fail_fast: the stage's own record says so
            name = tasks[task]
            result = task.result() if not task.cancelled() else scratches[name].stages.get(name)
            if result is not None:
                self._record(result)

    async def _stage(self, name: str, scratch: PipelineRun) -> StageResult:
        deps = {d: self.outputs[d] for d in self.pipeline.stage(name).depends_on}
        args = (self.rt, self.pipeline, scratch, deps, name, self.stream)
        return await step({}, f"stage:{name}", run_stage, *args)
