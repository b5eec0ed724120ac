"""The direct step runner: the scheduler's steps as plain calls in this process.

`DirectStepRunner` is the `StepRunner` of in-process runs, and what a durable step runs
inside each of its steps: a stage through `StageRunner` (cache, attempts, backoff,
timeouts), a batch of skips through `RunScope` (events and metrics once per stage).
`DirectStepRunnerFactory` holds what every run's stages share (clock, cache, metrics,
backoff sleep) and makes one runner per run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from application.pipelines.stage_runner import RunScope, Sleep, StageRunner
from domain.pipelines.pipeline import ErrorStrategy, Pipeline
from domain.pipelines.ports import PipelineMetrics, StageEventSink
from domain.pipelines.runs import PipelineRun, StageResult
from domain.pipelines.scheduling import StageSkip
from domain.ports import Cache, Clock

__all__ = ["DirectStepRunner", "DirectStepRunnerFactory"]


class DirectStepRunner:
    """Runs each step at once, recording into the run as it goes (so a stage cancelled
    mid-run has its `cancelled` result in the run, as the port asks)."""

    ordered_replay = False  # nothing is replayed: stages may start as soon as they can

    def __init__(self, scope: RunScope, runner: StageRunner) -> None:
        self._scope = scope
        self._runner = runner

    async def run_stage(self, stage: str) -> StageResult:
        await self._runner.run(self._scope, self._scope.pipeline.stage(stage))
        return self._scope.run.stages[stage]

    async def skip(self, skips: Sequence[StageSkip]) -> list[StageResult]:
        return [self._scope.skip(skip) for skip in skips]


@dataclass(frozen=True, slots=True)
class DirectStepRunnerFactory:
    """A `StepRunnerFactory`: `cache` enables the intermediate results cache for
    `cacheable` stages (entries live `cache_ttl` seconds, None = until evicted);
    `metrics` receives every stage's timing; `sleep` is the backoff sleep (tests make it
    instant)."""

    clock: Clock
    metrics: PipelineMetrics | None = None
    cache: Cache | None = None
    cache_ttl: float | None = None
    sleep: Sleep = asyncio.sleep

    def __call__(
        self,
        pipeline: Pipeline[Any, Any],
        run: PipelineRun,
        on_event: StageEventSink | None = None,
    ) -> DirectStepRunner:
        scope = RunScope(pipeline, run, self.clock, on_event, self.metrics)
        runner = StageRunner(
            retrying=pipeline.error_strategy is ErrorStrategy.RETRY,
            cache=self.cache,
            cache_ttl=self.cache_ttl,
            sleep=self.sleep,
        )
        return DirectStepRunner(scope, runner)
