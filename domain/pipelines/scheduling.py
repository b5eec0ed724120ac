"""The scheduling rules of a pipeline run, as pure functions of the pipeline and of the
results recorded so far: which stages can no longer run (and why), which may start,
how many may run at once, and which failure stops the run.

One scheduler (`application.pipelines.scheduler`) applies them for every executor; they
live here so the in-process and the durable runs cannot drift apart, and so they are
tested without running anything. `waves` is the durable executor's constraint: its steps
are replayed by position, so their order may depend only on recorded results, never on
timing. The scheduler then decides only between waves (when nothing runs) and a stage
waits for every earlier layer, in `dag` mode too.

Skip codes (in each skipped stage's `error`): `DEPENDENCY_FAILED` (a dependency did not
succeed, under `continue`), `RUN_ABORTED` (a failure stopped the run, under `fail_fast`
and `retry`), `RUN_CANCELLED` (the run itself was cancelled before the stage started).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.pipelines.pipeline import ErrorStrategy, ExecutionMode, Pipeline
from domain.pipelines.runs import StageResult, StageStatus

__all__ = [
    "StageSkip",
    "blocked_stages",
    "cancelled_stages",
    "concurrency_limit",
    "may_start",
    "ready_stages",
    "stops_run",
]


@dataclass(frozen=True, slots=True)
class StageSkip:
    """Why a stage will not run: the `error` body its skipped result carries."""

    stage: str
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "details": dict(self.details),
            "retryable": False,
        }

    def result(self) -> StageResult:
        return StageResult(self.stage, StageStatus.SKIPPED, error=self.error)


def concurrency_limit(pipeline: Pipeline[Any, Any]) -> int:
    """How many stages may run at once: one in `sequential` mode, else `max_concurrency`."""
    if pipeline.mode is ExecutionMode.SEQUENTIAL:
        return 1
    return pipeline.max_concurrency


def stops_run(pipeline: Pipeline[Any, Any], result: StageResult) -> bool:
    """True when `result` stops the run: a failure, unless the strategy is `continue`
    (`retry` has already retried the stage by then)."""
    return (
        result.status is StageStatus.FAILED
        and pipeline.error_strategy is not ErrorStrategy.CONTINUE
    )


def blocked_stages(
    pipeline: Pipeline[Any, Any],
    pending: Iterable[str],
    results: Mapping[str, StageResult],
    failed: str | None,
) -> list[StageSkip]:
    """The pending stages that can no longer run, in the order given (topological):
    every one once `failed` stopped the run, else those with a dependency that finished
    without an output. A stage skipped here blocks its own dependents in the same pass,
    so one call covers transitive dependents."""
    if failed is not None:
        reason = f"Not run: stage {failed!r} failed and the run stopped."
        return [
            StageSkip(name, "RUN_ABORTED", reason, {"failed_stage": failed}) for name in pending
        ]
    statuses = {name: result.status for name, result in results.items()}
    skips: list[StageSkip] = []
    for name in pending:
        deps = pipeline.stage(name).depends_on
        dep = next((d for d in deps if d in statuses and not statuses[d].has_output), None)
        if dep is None:
            continue
        reason = f"Not run: dependency {dep!r} {statuses[dep].value}."
        skips.append(StageSkip(name, "DEPENDENCY_FAILED", reason, {"dependency": dep}))
        statuses[name] = StageStatus.SKIPPED
    return skips


def may_start(
    pipeline: Pipeline[Any, Any],
    name: str,
    results: Mapping[str, StageResult],
    *,
    waves: bool = False,
) -> bool:
    """Every dependency of `name` has an output, and (in `parallel` mode, or in waves)
    every stage of the earlier layers has finished."""
    for dep in pipeline.stage(name).depends_on:
        result = results.get(dep)
        if result is None or not result.status.has_output:
            return False
    if pipeline.mode is ExecutionMode.PARALLEL or waves:
        for layer in pipeline.layers:
            if name in layer:
                return True
            if any(stage not in results for stage in layer):
                return False
    return True


def ready_stages(
    pipeline: Pipeline[Any, Any],
    pending: Iterable[str],
    results: Mapping[str, StageResult],
    running: int,
    *,
    waves: bool = False,
) -> list[str]:
    """The pending stages to start now, in the order given (topological), as many as the
    free slots allow (`running` are taken). In waves, none while any stage runs."""
    if waves and running:
        return []
    free = concurrency_limit(pipeline) - running
    ready: list[str] = []
    for name in pending:
        if len(ready) >= free:
            break
        if may_start(pipeline, name, results, waves=waves):
            ready.append(name)
    return ready


def cancelled_stages(
    pipeline: Pipeline[Any, Any], results: Mapping[str, StageResult]
) -> list[StageSkip]:
    """The stages a cancelled run never started, in topological order."""
    reason = "Not run: the run was cancelled."
    left = [name for name in pipeline.order if name not in results]
    return [StageSkip(name, "RUN_CANCELLED", reason) for name in left]
