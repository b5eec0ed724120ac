"""Running one stage: the results cache, attempts with backoff, timeouts, and reporting.

`RunScope` is what every stage of one run shares (the run record, the event sink, the
metrics hook); `StageRunner` takes a stage from "ready" to a recorded `StageResult`. It
never raises a stage's error: failures become results, so the scheduler only decides
what runs next. Cancellation is recorded (`cancelled`) and then propagates, as asyncio
expects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from domain.errors import CacheUnavailable, MAIError, StageFailed, StageTimeout
from domain.pipelines.caching import stage_cache_key
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.ports import PipelineMetrics, StageEventSink
from domain.pipelines.runs import PipelineRun, StageEvent, StageResult, StageStatus
from domain.pipelines.scheduling import StageSkip
from domain.pipelines.stages import PipelineStage, RetryPolicy, StageContext
from domain.ports import Cache, Clock

log = structlog.get_logger("mai.pipelines")
Sleep = Callable[[float], Awaitable[None]]
_ONCE = RetryPolicy(attempts=1)


def error_body(exc: BaseException, stage: str) -> dict[str, Any]:
    """A failure as the `MAIError` body, naming the stage; other exceptions become
    `STAGE_FAILED` with their type, so a run record never holds a raw traceback."""
    error = exc if isinstance(exc, MAIError) else None
    if error is None:
        message = str(exc) or type(exc).__name__
        error = StageFailed(message, details={"type": type(exc).__name__})
    body: dict[str, Any] = error.to_dict()["error"]
    body["details"] = {**body["details"], "stage": stage}
    return body


@dataclass(slots=True)
class RunScope:
    """What the stages of one run share: the record they write their results into (and
    read their dependencies' outputs from), the event sink, the metrics hook."""

    pipeline: Pipeline[Any, Any]
    run: PipelineRun
    clock: Clock
    on_event: StageEventSink | None = None
    metrics: PipelineMetrics | None = None

    def input_for(self, stage: PipelineStage[Any, Any]) -> Any:
        """The pipeline input (root), the one dependency's output, or a dict of outputs."""
        if not stage.depends_on:
            return self.run.input
        outputs = {name: self.run.stages[name].output for name in stage.depends_on}
        if len(stage.depends_on) == 1:
            return outputs[stage.depends_on[0]]
        return outputs

    def emit(
        self, stage: str, status: StageStatus, attempt: int = 0, error: dict[str, Any] | None = None
    ) -> None:
        if self.on_event is None:
            return
        event = StageEvent(
            self.run.id, self.pipeline.name, stage, status, self.clock.now(), attempt, error
        )
        try:
            self.on_event(event)
        except Exception as exc:  # a broken listener must not break the run
            log.warning("pipeline_event_sink_failed", stage=stage, error_type=type(exc).__name__)

    def finish(self, result: StageResult) -> None:
        """Record a final result, tell the listener and the metrics hook."""
        result.finished_at = result.finished_at or self.clock.now()
        self.run.record(result)
        self.emit(result.stage, result.status, result.attempts, result.error)
        if self.metrics is not None:
            try:
                self.metrics.stage_finished(
                    self.pipeline.name, result.stage, result.status, result.duration
                )
            except Exception as exc:
                log.warning(
                    "pipeline_metrics_failed", stage=result.stage, error_type=type(exc).__name__
                )

    def skip(self, skip: StageSkip) -> StageResult:
        result = skip.result()
        self.finish(result)
        return result


class StageRunner:
    """Runs stages for one run. `retrying` (the `retry` strategy) gives each stage its
    `RetryPolicy`; otherwise a stage has one attempt."""

    def __init__(
        self,
        *,
        retrying: bool,
        cache: Cache | None = None,
        cache_ttl: float | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._retrying = retrying
        self._cache = cache
        self._cache_ttl = cache_ttl
        self._sleep = sleep

    async def run(self, scope: RunScope, stage: PipelineStage[Any, Any]) -> None:
        started_at, t0 = scope.clock.now(), time.perf_counter()
        result = StageResult(stage.name, StageStatus.FAILED, started_at=started_at)
        value = scope.input_for(stage)
        try:
            key = self._key(scope, stage, value)
            hit = await self._read(key, stage) if key is not None else None
            if hit is not None:
                result.status, result.output = StageStatus.CACHED, hit[0]
            else:
                result.output = await self._attempts(scope, stage, value, result)
                result.status = StageStatus.SUCCEEDED
                if key is not None:
                    await self._write(key, stage, result.output)
        except asyncio.CancelledError:
            result.status = StageStatus.CANCELLED
            result.error = {
                "code": "STAGE_CANCELLED",
                "message": "Cancelled while running.",
                "details": {"stage": stage.name},
                "retryable": True,
            }
            raise
        except Exception as exc:
            result.status, result.error = StageStatus.FAILED, error_body(exc, stage.name)
        finally:
            result.duration = time.perf_counter() - t0
            scope.finish(result)

    async def _attempts(
        self, scope: RunScope, stage: PipelineStage[Any, Any], value: Any, result: StageResult
    ) -> Any:
        policy = stage.retry if self._retrying else _ONCE

        def before_sleep(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome is not None else None
            error = error_body(failure, stage.name) if failure is not None else None
            scope.emit(stage.name, StageStatus.RETRYING, state.attempt_number, error)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=lambda state: policy.delay(state.attempt_number),
            retry=retry_if_exception_type(Exception),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                result.attempts = number
                scope.emit(stage.name, StageStatus.RUNNING, number)
                context = StageContext(
                    scope.run.id, scope.run.user_id, scope.pipeline.name, stage.name, number
                )
                return await self._once(stage, value, context)
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    @staticmethod
    async def _once(stage: PipelineStage[Any, Any], value: Any, context: StageContext) -> Any:
        if stage.timeout is None:
            return await stage.run(value, context)
        deadline = asyncio.timeout(stage.timeout)
        try:
            async with deadline:
                return await stage.run(value, context)
        except TimeoutError:
            if not deadline.expired():
                raise  # the stage's own TimeoutError, not ours
            raise StageTimeout(
                f"Stage {stage.name!r} took longer than {stage.timeout}s.",
                details={"timeout": stage.timeout},
            ) from None

    # --- the intermediate results cache: never the truth, so every failure is a miss ----

    def _key(self, scope: RunScope, stage: PipelineStage[Any, Any], value: Any) -> str | None:
        if not stage.cacheable or self._cache is None:
            return None
        try:
            return stage_cache_key(scope.pipeline.name, stage.name, stage.version, value)
        except (PydanticSerializationError, TypeError, ValueError):
            log.warning("pipeline_stage_input_not_cacheable", stage=stage.name)
            return None

    async def _read(self, key: str, stage: PipelineStage[Any, Any]) -> tuple[Any] | None:
        assert self._cache is not None
        try:
            text = await self._cache.get(key)
        except CacheUnavailable:
            return None
        if text is None:
            return None
        try:
            return (_adapter(stage).validate_json(text),)
        except ValidationError:  # written by an older output type: recompute
            return None

    async def _write(self, key: str, stage: PipelineStage[Any, Any], output: Any) -> None:
        assert self._cache is not None
        try:
            text = _adapter(stage).dump_json(output).decode()
        except (PydanticSerializationError, TypeError, ValueError):
            log.warning("pipeline_stage_output_not_cacheable", stage=stage.name)
            return
        try:
            await self._cache.set(key, text, ttl=self._cache_ttl)
        except CacheUnavailable:
            log.info("pipeline_cache_unavailable", stage=stage.name)


def _adapter(stage: PipelineStage[Any, Any]) -> TypeAdapter[Any]:
    return TypeAdapter(stage.output_type if stage.output_type is not None else Any)
