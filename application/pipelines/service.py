"""Pipelines for the entrypoints: what is on offer, start a run (at once or waiting),
follow its stage events, read a user's runs.

A started run keeps going after the request that started it returns: in this process
(the in-process executor, as a background task) or on any worker (the DBOS executor).
Stage events are published on the event bus under `pipeline:<run id>` so a subscriber on
any server process can follow a run started on another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import structlog

from application.pipelines.registry import PipelineRegistry
from application.pipelines.runs import GetPipelineRun, ListPipelineRuns, RunPipeline
from domain.errors import CacheUnavailable
from domain.pagination import Page
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.ports import PipelineExecutor, PipelineRunStore
from domain.pipelines.runs import PipelineRun, RunStatus, StageEvent
from domain.ports import BackgroundTasks, Clock, EventBus

log = structlog.get_logger("mai.pipelines")
FINISHED = "run_finished"


def channel(run_id: UUID) -> str:
    return f"pipeline:{run_id}"


class Pipelines:
    def __init__(
        self,
        registry: PipelineRegistry,
        executor: PipelineExecutor,
        store: PipelineRunStore,
        clock: Clock,
        bus: EventBus,
        tasks: BackgroundTasks,
    ) -> None:
        self.registry = registry
        self._tasks = tasks  # a run and its published events outlive the request
        self._store = store
        self._bus = bus
        self._run = RunPipeline(executor, store, clock)
        self._get = GetPipelineRun(store)
        self._list = ListPipelineRuns(store)

    def all(self) -> list[Pipeline[Any, Any]]:
        return sorted(self.registry, key=lambda p: p.name)

    def get(self, name: str) -> Pipeline[Any, Any]:
        return self.registry.get(name)

    async def run(self, user_id: UUID, name: str, input: Any, *, wait: bool) -> PipelineRun:
        """Start a run. `wait=False` returns its record (status `running`) as soon as it is
        saved; `wait=True` returns the finished run."""
        pipeline = self.registry.get(name)
        pipeline.validate_input(input)  # a bad input is refused now, before any record
        run_id = uuid4()
        started = asyncio.Event()
        task = self._tasks.spawn(
            self._execute(pipeline, input, user_id, run_id, started), name="pipeline_run"
        )
        if wait:
            return await asyncio.shield(task)
        waiter = asyncio.create_task(started.wait())
        either: set[asyncio.Future[Any]] = {task, waiter}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            return task.result()
        return await self._get.execute(run_id, user_id)

    async def _execute(
        self,
        pipeline: Pipeline[Any, Any],
        input: Any,
        user_id: UUID,
        run_id: UUID,
        started: asyncio.Event,
    ) -> PipelineRun:
        # The run's logs carry its id (and the request id of whoever started it).
        structlog.contextvars.bind_contextvars(pipeline=pipeline.name, run_id=str(run_id))

        def on_event(event: StageEvent) -> None:
            started.set()
            self._publish(run_id, event.to_dict())

        run = await self._run.execute(
            pipeline,
            input,
            user_id=user_id,
            on_event=on_event,
            run_id=run_id,
            on_saved=started.set,
        )
        self._publish(run_id, {"type": FINISHED, "run": run.to_dict()})
        return run

    def _publish(self, run_id: UUID, event: dict[str, Any]) -> None:
        async def send() -> None:
            try:
                await self._bus.publish(channel(run_id), event)
            except CacheUnavailable:  # progress is best effort; the record is the truth
                log.warning("pipeline_event_not_published", run_id=str(run_id))

        self._tasks.spawn(send(), name="pipeline_event")

    async def get_run(self, user_id: UUID, run_id: UUID) -> PipelineRun:
        return await self._get.execute(run_id, user_id)

    async def list_runs(
        self, user_id: UUID, limit: int = 20, after: str | None = None
    ) -> Page[PipelineRun]:
        return await self._list.execute(user_id, limit, after)

    async def follow(self, user_id: UUID, run_id: UUID) -> AsyncIterator[dict[str, Any]]:
        """The run's stage events as they happen, ending with `run_finished` (carrying the
        run). Subscribes before reading the record, so nothing falls in between."""
        async with self._bus.subscribe(channel(run_id)) as events:
            run = await self._get.execute(run_id, user_id)  # also the ownership check
            if run.status not in (RunStatus.PENDING, RunStatus.RUNNING):
                yield {"type": FINISHED, "run": run.to_dict()}
                return
            async for event in events:
                yield event
                if event.get("type") == FINISHED:
                    return
