"""`schedule`: the one scheduler of pipeline runs, in process and durable alike.

It starts ready stages, waits for any to finish, records what they return, and repeats;
the rules (what is blocked, what may start, how many at once, which failure stops the
run) are the domain's (`domain.pipelines.scheduling`). What differs between executors is
how a step is carried out, the `StepRunner` it is given: a direct call in process, a
checkpointed DBOS step in a durable run.

The three modes differ only in when a stage may start and how many may run at once:
`sequential` one at a time in topological order; `parallel` layer by layer, at most
`max_concurrency` at once; `dag` as soon as its own dependencies are done, at most
`max_concurrency` at once. Ready stages start in topological order, so runs are
reproducible. Error strategies: `fail_fast` cancels the running stages on the first
failure (they end `cancelled`, the ones not started `skipped`); `continue` skips only the
dependents of a failure and lets independent branches finish; `retry` retries each stage
per its `RetryPolicy` (inside the step), then behaves as `fail_fast`.

A step runner with `ordered_replay` (DBOS replays steps by position) gets waves: the
scheduler decides (skips, starts) only when nothing runs, and a stage waits for every
earlier layer, so the step order depends on recorded results alone. `dag` mode then runs
like `parallel`, in batches of `max_concurrency` inside a layer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from domain.pipelines.pipeline import Pipeline
from domain.pipelines.ports import StepRunner
from domain.pipelines.runs import PipelineRun, StageResult
from domain.pipelines.scheduling import blocked_stages, ready_stages, stops_run

__all__ = ["schedule"]


async def schedule(pipeline: Pipeline[Any, Any], run: PipelineRun, steps: StepRunner) -> None:
    """Run every stage of the started `run` through `steps`; results land in `run`. A
    `RunScheduler`. Cancelling it cancels the running stages (none is left orphaned)."""
    await _Scheduler(pipeline, run, steps).run()


class _Scheduler:
    def __init__(self, pipeline: Pipeline[Any, Any], run: PipelineRun, steps: StepRunner) -> None:
        self.pipeline = pipeline
        self.run_record = run
        self.steps = steps
        self.waves = steps.ordered_replay
        self.pending = list(pipeline.order)
        self.running: dict[asyncio.Task[StageResult], str] = {}  # in start order
        self.failed: str | None = None  # the failure that stopped the run (fail_fast/retry)

    async def run(self) -> None:
        try:
            while True:
                if not (self.waves and self.running):
                    await self._skip_blocked()
                    self._start_ready()
                if not self.running:
                    assert not self.pending, f"stages never became ready: {self.pending}"
                    return
                done, _ = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
                for task in [t for t in self.running if t in done]:  # in start order
                    self._record(self.running.pop(task), task)
                if self.failed is not None:
                    await self._cancel_running()
        finally:
            await self._cancel_running()  # on our own cancellation: no orphaned stages

    def _record(self, name: str, task: asyncio.Task[StageResult]) -> None:
        # A cancelled stage's result was recorded in the run by the step runner.
        result = self.run_record.stages.get(name) if task.cancelled() else task.result()
        if result is None:
            return
        self.run_record.record(result)
        if self.failed is None and stops_run(self.pipeline, result):
            self.failed = name

    async def _skip_blocked(self) -> None:
        skips = blocked_stages(self.pipeline, self.pending, self.run_record.stages, self.failed)
        if not skips:
            return
        for skip in skips:
            self.pending.remove(skip.stage)
        for result in await self.steps.skip(skips):
            self.run_record.record(result)

    def _start_ready(self) -> None:
        results, running = self.run_record.stages, len(self.running)
        for name in ready_stages(self.pipeline, self.pending, results, running, waves=self.waves):
            self.pending.remove(name)
            task = asyncio.create_task(
                self.steps.run_stage(name), name=f"{self.pipeline.name}:{name}"
            )
            self.running[task] = name

    async def _cancel_running(self) -> None:
        """Cancel what still runs and record how each ended (a stage may have finished
        just before its cancellation arrived). Errors were failures recorded by the step
        runner, or bugs that the cancellation in progress takes precedence over."""
        if not self.running:
            return
        tasks = dict(self.running)
        self.running.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task, name in tasks.items():
            if task.cancelled() or task.exception() is None:
                self._record(name, task)
