"""`InProcessExecutor`: runs a pipeline in this process with asyncio.

The one scheduler (`scheduler.schedule`) with the direct step runner: each stage runs as
a plain call on the running event loop. Not durable: a crash loses the run (the DBOS
executor is the durable one, with the same scheduler and durable steps). Cancelling a
run cancels its running stages and records the ones not started as skipped
(`RUN_CANCELLED`); the run ends `cancelled`.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

from application.pipelines.scheduler import schedule
from application.pipelines.stage_runner import Sleep
from application.pipelines.steps import DirectStepRunnerFactory
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.ports import PipelineMetrics, StageEventSink
from domain.pipelines.runs import PipelineRun
from domain.pipelines.scheduling import cancelled_stages
from domain.ports import Cache, Clock


class InProcessExecutor:
    """A `PipelineExecutor` on the running event loop.

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
        self._clock = clock
        self._steps = DirectStepRunnerFactory(clock, metrics, cache, cache_ttl, sleep)

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
        steps = self._steps(pipeline, run, on_event)
        interrupted = True  # until the scheduler returns normally (it re-raises cancellation)
        try:
            await schedule(pipeline, run, steps)
            interrupted = False
        finally:
            left = cancelled_stages(pipeline, run.stages)  # only on cancellation
            if left:
                await steps.skip(left)
            run.finish(self._clock.now(), pipeline.output, cancelled=interrupted)
        return run
