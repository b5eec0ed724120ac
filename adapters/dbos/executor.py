"""`DbosPipelineExecutor`: pipelines as durable DBOS workflows, shared through a DBOS queue.

`run` enqueues the run on a DBOS queue (the workflow id is the run id, so enqueueing the
same run twice attaches to the first) and waits for its result; whichever worker process
dequeues it runs it (`workflow.pipeline_workflow`), possibly not this one. Workers are
every process that `start`s an executor with `listen=True` on the same system database,
app name and queue: DBOS's dequeue is transactional, so each run goes to exactly one of
them, at most `worker_concurrency` at a time per worker (and `global_concurrency` in all).
There is no queue of our own.

The executor schedules nothing itself: the composition root injects the application's
scheduler and the step runner each stage's step runs (see `workflow`), so the in-process
and the durable runs share one algorithm and this adapter imports no use-case code.

Recovery is DBOS's, by executor id: a worker restarted with the same `executor_id`
resumes its unfinished runs on `start`; the runs of a worker that will not come back are
handed to the live ones with `recover([its executor_id])` (an operator action, or DBOS
Conductor: DBOS itself does not detect dead workers). So give each worker process a
stable, unique id (pod or host name plus a slot number); two live workers with one id
would recover each other's running workflows.

System database: a PostgreSQL URL in production (workers on many machines), a SQLite file
in the embedded profile (workers in one machine). Workflow inputs, stage outputs and
results are checkpointed with pickle, so they must be picklable and their classes
importable in every worker.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID, uuid4

import structlog
from dbos import DBOS, DBOSConfig, Queue, SetWorkflowID, WorkflowHandleAsync
from sqlalchemy.engine import make_url

from adapters.clock import SystemClock
from adapters.dbos.steps import EVENTS_STREAM, WorkerRuntime, install
from adapters.dbos.workflow import pipeline_workflow
from domain.errors import ConfigurationError, Conflict
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.ports import (
    PipelineCatalog,
    PipelineRunStore,
    RunScheduler,
    StageEventSink,
    StepRunnerFactory,
)
from domain.pipelines.runs import PipelineRun, StageEvent
from domain.ports import Clock

__all__ = ["DbosPipelineExecutor"]

log = structlog.get_logger("mai.pipelines.dbos")


def system_url(url: str) -> str:
    """The URL as DBOS wants it: DBOS picks its own PostgreSQL driver (psycopg) whatever
    the URL names, but opens SQLite synchronously, so an async SQLite driver is dropped.
    The app's own `DATABASE__URL` can thus be passed as it is."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    return url


class DbosPipelineExecutor:
    """A durable `PipelineExecutor`. One per process (DBOS is a process-wide singleton):
    `await start()` before use (inside the event loop that should run the stages),
    `await close()` at shutdown. `catalog` holds the pipelines by name (every worker
    registers the same ones); `scheduler` and `steps` are the application's scheduler and
    the step runner each stage's step uses (cache, metrics and backoff are its settings).
    `store` (when given) receives each run's record from the worker that runs it, at
    start and at the end, whoever submitted it."""

    def __init__(
        self,
        catalog: PipelineCatalog,
        *,
        scheduler: RunScheduler,
        steps: StepRunnerFactory,
        system_database_url: str,
        app_name: str = "mai",
        queue_name: str = "mai-pipelines",
        worker_concurrency: int | None = 4,
        global_concurrency: int | None = None,
        executor_id: str | None = None,
        application_version: str | None = None,
        listen: bool = True,
        polling_interval: float = 1.0,
        store: PipelineRunStore | None = None,
        clock: Clock | None = None,
        log_level: str = "WARNING",
    ) -> None:
        self.catalog = catalog
        self.queue_name = queue_name
        self.executor_id = executor_id or socket.gethostname()
        self._clock = clock or SystemClock()
        self._listen = listen
        self._polling = polling_interval
        self._concurrency = (worker_concurrency, global_concurrency)
        self._runtime = WorkerRuntime(catalog, self._clock, scheduler, steps, store)
        self._config: DBOSConfig = {
            "name": app_name,
            "system_database_url": system_url(system_database_url),
            "executor_id": self.executor_id,
            "log_level": log_level,
            "notification_listener_polling_interval_sec": polling_interval,
        }
        if application_version is not None:
            self._config["application_version"] = application_version
        self._queue: Queue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Launch DBOS on the running loop (so workflows run on it, next to the stores
        and clients the stages use), register the queue, and (as a worker) start
        dequeuing; runs this worker left unfinished are resumed."""
        if self._queue is not None:
            return
        self._loop = asyncio.get_running_loop()
        install(self._runtime)
        try:
            DBOS(config=self._config)
            DBOS.listen_queues([self.queue_name] if self._listen else [])
            DBOS.launch()  # blocking start-up (connect, migrate): once per process
            worker, total = self._concurrency
            self._queue = await DBOS.register_queue_async(
                self.queue_name,
                worker_concurrency=worker,
                global_concurrency=total,
                polling_interval_sec=self._polling,
                on_conflict="always_update",
            )
        except BaseException:
            install(None)
            await asyncio.to_thread(DBOS.destroy)
            self._restore_default_executor()
            raise

    async def close(self) -> None:
        """Stop dequeuing and shut DBOS down. Runs still going stay PENDING in the
        system database and are resumed when this executor id starts again."""
        if self._queue is None:
            return
        self._queue = None
        await asyncio.to_thread(DBOS.destroy)
        install(None)
        self._restore_default_executor()

    def _restore_default_executor(self) -> None:
        """DBOS made its (now shut down) pool the loop's default executor: give the loop a
        fresh one, or every later `asyncio.to_thread` on it would fail."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="asyncio"))

    async def __aenter__(self) -> DbosPipelineExecutor:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _started(self) -> Queue:
        if self._queue is None:
            raise ConfigurationError("The DBOS pipeline executor was not started.")
        return self._queue

    # --- the port ---------------------------------------------------------------------

    async def run(
        self,
        pipeline: Pipeline[Any, Any],
        input: Any,
        *,
        user_id: UUID,
        run_id: UUID | None = None,
        on_event: StageEventSink | None = None,
    ) -> PipelineRun:
        """Queue the run, follow its events, return it once finished (by any worker).
        Cancelling the caller cancels the workflow, as it would cancel an in-process run."""
        run_id = await self.submit(
            pipeline, input, user_id=user_id, run_id=run_id, stream_events=on_event is not None
        )
        follower = None
        if on_event is not None:
            follower = asyncio.create_task(self._follow(run_id, on_event))
        try:
            run = await self.wait(run_id)
        except BaseException as exc:
            if follower is not None:
                follower.cancel()
            if isinstance(exc, asyncio.CancelledError):
                await asyncio.shield(DBOS.cancel_workflow_async(str(run_id)))
            raise
        if follower is not None:  # the workflow closed its stream: the rest is in flight
            try:
                await asyncio.wait_for(follower, timeout=max(5.0, 10 * self._polling))
            except TimeoutError:
                log.warning("pipeline_events_incomplete", run_id=str(run_id))
        return run

    async def submit(
        self,
        pipeline: Pipeline[Any, Any],
        input: Any,
        *,
        user_id: UUID,
        run_id: UUID | None = None,
        stream_events: bool = False,
    ) -> UUID:
        """Queue a run and return its id at once (`wait` for its result). The pipeline
        must be the one registered under its name: that is what workers will run."""
        queue = self._started()
        if self.catalog.get(pipeline.name) is not pipeline:
            raise Conflict(
                f"Pipeline {pipeline.name!r} is not the one registered under that name.",
                details={"pipeline": pipeline.name},
            )
        value = pipeline.validate_input(input)
        run_id = run_id or uuid4()
        args = (pipeline.name, str(run_id), str(user_id), value, self._clock.now(), stream_events)
        with SetWorkflowID(str(run_id)):
            await queue.enqueue_async(pipeline_workflow, *args)
        return run_id

    async def wait(self, run_id: UUID) -> PipelineRun:
        """The finished run `run_id`, whichever worker ran it."""
        self._started()
        handle: WorkflowHandleAsync[PipelineRun] = await DBOS.retrieve_workflow_async(str(run_id))
        result: PipelineRun = await handle.get_result(polling_interval_sec=self._polling)
        return result

    async def recover(self, executor_ids: Sequence[str]) -> int:
        """Put the unfinished runs of these (dead) workers back on their queue for the
        live workers; returns how many. Finished stages are not run again."""
        self._started()
        handles = await asyncio.to_thread(DBOS._recover_pending_workflows, list(executor_ids))
        return len(handles)

    async def _follow(self, run_id: UUID, on_event: StageEventSink) -> None:
        stream = DBOS.read_stream_async(
            str(run_id), EVENTS_STREAM, polling_interval_sec=self._polling
        )
        try:
            async for event in stream:
                if not isinstance(event, StageEvent):
                    continue
                try:
                    on_event(event)
                except Exception as exc:  # a broken listener must not break the run
                    log.warning("pipeline_event_sink_failed", error_type=type(exc).__name__)
        except Exception as exc:  # events are best effort; the run's result is not
            log.warning("pipeline_events_unreadable", error_type=type(exc).__name__)
