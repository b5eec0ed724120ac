"""`InProcessExecutor`: runs a pipeline in this process with asyncio.

One scheduler serves the three modes; they differ only in when a stage may start and how
many may run at once:

- `sequential`: one at a time, in topological order;
- `parallel`: layer by layer (a stage waits for every earlier layer), at most
  `max_concurrency` at once;
- `dag`: as soon as its own dependencies are done, at most `max_concurrency` at once.

Ready stages start in topological order, so runs are reproducible. Error strategies:
`fail_fast` cancels the running stages on the first failure (they end `cancelled`, the
ones not started `skipped`); `continue` skips only the dependents of a failure and lets
independent branches finish; `retry` retries each stage per its `RetryPolicy`, then
behaves as `fail_fast`.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

from application.pipelines.stage_runner import RunScope, Sleep, StageRunner
from domain.pipelines.pipeline import ErrorStrategy, ExecutionMode, Pipeline
from domain.pipelines.ports import PipelineMetrics, StageEventSink
from domain.pipelines.runs import PipelineRun, StageStatus
from domain.ports import Cache, Clock


class InProcessExecutor:
    """A `PipelineExecutor` on the running event loop (not durable: a crash loses the
    run; the workflow-backed executor is the durable one).

    `cache` enables the intermediate results cache for `cacheable` stages (entries live
    `cache_ttl` seconds, None = until evicted); `metrics` receives every stage's timing;
    `sleep` is the backoff sleep (tests make it instant).
    """

    def __init__(
        self,
        *,
        cache: Cache | None = None,
        cache_ttl: float | None = None,
        clock: Clock,
        metrics: PipelineMetrics | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._cache = cache
        self._cache_ttl = cache_ttl
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep

    async def run(
        self,
        pipeline: Pipeline[Any, Any],
        input: Any,
        *,
        user_id: UUID,
        run_id: UUID | None = None,
        on_event: StageEventSink | None = None,
    ) -> PipelineRun:
        value = pipeline.validate_input(input)
        now = self._clock.now()
        run = PipelineRun(pipeline.name, user_id, value, id=run_id or uuid4(), created_at=now)
        run.start(now)
        scope = RunScope(pipeline, run, self._clock, on_event, self._metrics)
        runner = StageRunner(
            retrying=pipeline.error_strategy is ErrorStrategy.RETRY,
            cache=self._cache,
            cache_ttl=self._cache_ttl,
            sleep=self._sleep,
        )
        interrupted = True  # until the scheduler returns normally (it re-raises cancellation)
        try:
            await _Scheduler(scope, runner).run()
            interrupted = False
        finally:
            for name in pipeline.order:  # only reached with stages left on cancellation
                if name not in run.stages:
                    scope.skip(name, "RUN_CANCELLED", "Not run: the run was cancelled.")
            run.finish(self._clock.now(), pipeline.output, cancelled=interrupted)
        return run


class _Scheduler:
    """Starts ready stages, waits for any to finish, repeats; applies the error strategy."""

    def __init__(self, scope: RunScope, runner: StageRunner) -> None:
        self.scope = scope
        self.runner = runner
        self.pipeline = scope.pipeline
        mode = self.pipeline.mode
        self.limit = 1 if mode is ExecutionMode.SEQUENTIAL else self.pipeline.max_concurrency
        self.layer_of = {n: i for i, layer in enumerate(self.pipeline.layers) for n in layer}
        self.pending = list(self.pipeline.order)
        self.running: dict[asyncio.Task[None], str] = {}
        self.failed: str | None = None  # the failure that stopped the run (fail_fast/retry)

    async def run(self) -> None:
        try:
            while True:
                self._skip_blocked()
                self._start_ready()
                if not self.running:
                    assert not self.pending, f"stages never became ready: {self.pending}"
                    return
                done, _ = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    name = self.running.pop(task)
                    if not task.cancelled():  # a stage that cancelled itself is recorded
                        task.result()  # failures are results: this raises only on bugs
                    status = self.scope.run.stages[name].status
                    stops = self.pipeline.error_strategy is not ErrorStrategy.CONTINUE
                    if status is StageStatus.FAILED and stops and self.failed is None:
                        self.failed = name
                if self.failed is not None:
                    await self._cancel_running()
        finally:
            await self._cancel_running()  # on our own cancellation: no orphaned stages

    def _finished(self, name: str) -> bool:
        return name in self.scope.run.stages

    def _ok(self, name: str) -> bool:
        result = self.scope.run.stages.get(name)
        return result is not None and result.status.has_output

    def _skip_blocked(self) -> None:
        """Skip what can no longer run: everything after a stopping failure, or (continue)
        the dependents of a stage that did not succeed. Topological order makes one pass
        enough for transitive dependents."""
        for name in list(self.pending):
            if self.failed is not None:
                reason = f"Not run: stage {self.failed!r} failed and the run stopped."
                self.scope.skip(name, "RUN_ABORTED", reason, failed_stage=self.failed)
            else:
                blocked = [
                    d
                    for d in self.pipeline.stage(name).depends_on
                    if self._finished(d) and not self._ok(d)
                ]
                if not blocked:
                    continue
                status = self.scope.run.stages[blocked[0]].status.value
                reason = f"Not run: dependency {blocked[0]!r} {status}."
                self.scope.skip(name, "DEPENDENCY_FAILED", reason, dependency=blocked[0])
            self.pending.remove(name)

    def _may_start(self, name: str) -> bool:
        if not all(self._ok(d) for d in self.pipeline.stage(name).depends_on):
            return False
        if self.pipeline.mode is ExecutionMode.PARALLEL:
            layer = self.layer_of[name]
            earlier = self.pipeline.layers[:layer]
            return all(self._finished(n) for previous in earlier for n in previous)
        return True

    def _start_ready(self) -> None:
        for name in list(self.pending):
            if len(self.running) >= self.limit:
                return
            if self._may_start(name):
                self.pending.remove(name)
                stage = self.pipeline.stage(name)
                task = asyncio.create_task(
                    self.runner.run(self.scope, stage), name=f"{self.pipeline.name}:{name}"
                )
                self.running[task] = name

    async def _cancel_running(self) -> None:
        if not self.running:
            return
        tasks = list(self.running)
        self.running.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
