"""Use-cases over pipeline runs: run one (and keep its record), read one, list them.

A run is saved when it starts (status `running`) and again when it ends, so a listing
shows runs in progress. Reads are always scoped to the owner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from domain.errors import MAIError, NotFound
from domain.pagination import Page
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.ports import PipelineExecutor, PipelineRunStore, StageEventSink
from domain.pipelines.runs import PipelineRun, RunStatus
from domain.ports import Clock


class RunPipeline:
    def __init__(self, executor: PipelineExecutor, store: PipelineRunStore, clock: Clock) -> None:
        self._executor = executor
        self._store = store
        self._clock = clock

    async def execute(
        self,
        pipeline: Pipeline[Any, Any],
        input: Any,
        *,
        user_id: UUID,
        on_event: StageEventSink | None = None,
        run_id: UUID | None = None,
        on_saved: Callable[[], None] | None = None,
    ) -> PipelineRun:
        """Run `pipeline` for `user_id`; stage failures are in the returned run (status
        `failed`), not raised. Raises `ValidationFailed` before saving anything when the
        input does not fit the pipeline."""
        value = pipeline.validate_input(input)
        now = self._clock.now()
        started = PipelineRun(pipeline.name, user_id, value, id=run_id or uuid4(), created_at=now)
        started.start(now)
        await self._store.save(started)
        if on_saved is not None:
            on_saved()
        try:
            run = await self._executor.run(
                pipeline, value, user_id=user_id, run_id=started.id, on_event=on_event
            )
        except BaseException as exc:  # record how it ended, then let it propagate
            cancelled = isinstance(exc, asyncio.CancelledError)
            started.finish(self._clock.now(), pipeline.output, cancelled=cancelled)
            if not cancelled:
                started.status = RunStatus.FAILED
                error = exc if isinstance(exc, MAIError) else MAIError("The run crashed.")
                started.error = error.to_dict()["error"]
            await asyncio.shield(self._store.save(started))
            raise
        await self._store.save(run)
        return run


class GetPipelineRun:
    def __init__(self, store: PipelineRunStore) -> None:
        self._store = store

    async def execute(self, run_id: UUID, user_id: UUID) -> PipelineRun:
        run = await self._store.get(run_id, user_id)
        if run is None:  # another user's run looks exactly like a missing one
            raise NotFound("Pipeline run not found.", details={"id": str(run_id)})
        return run


class ListPipelineRuns:
    def __init__(self, store: PipelineRunStore) -> None:
        self._store = store

    async def execute(
        self, user_id: UUID, limit: int = 20, after: str | None = None
    ) -> Page[PipelineRun]:
        return await self._store.page(user_id, limit, after)
