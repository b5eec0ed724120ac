"""One DBOS pipeline worker process for test_dbos_pipelines (and bench/pipelines).

    python -m tests.integration.dbos_worker SYSTEM_DB_URL APP_DB_URL MARKER_DIR EXECUTOR_ID \
        [RECOVER_EXECUTOR_ID]

Starts a `DbosPipelineExecutor` worker on the queue `QUEUE`, saving run records in
APP_DB_URL (empty: no store), optionally hands itself the unfinished runs of a dead worker,
prints `ready` once DBOS dequeues from the queue, and works until SIGTERM (at most
`MAI_DBOS_WORKER_CONCURRENCY` runs at once, default 2). Every stage
execution leaves a marker file `<stage>.<run id>.<executor id>.<random>` in MARKER_DIR, so
the test can count who ran what, and how often. The `slow` stage waits for MARKER_DIR/release.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from pathlib import Path
from uuid import uuid4

from adapters.clock import SystemClock
from adapters.dbos.executor import DbosPipelineExecutor
from adapters.sql.database import Database
from adapters.sql.pipeline_runs import SqlPipelineRunStore
from application.pipelines.registry import PipelineRegistry
from application.pipelines.scheduler import schedule
from application.pipelines.steps import DirectStepRunnerFactory
from domain.pipelines import FunctionStage, Pipeline, StageContext

APP_NAME = "mai-test"
QUEUE = "mai-pipelines-test"
VERSION = "test"
RELEASE_TIMEOUT = 30.0
_markers = Path(".")
_executor_id = ""


def mark(context: StageContext) -> None:
    name = f"{context.stage}.{context.run_id}.{_executor_id}.{uuid4().hex[:8]}"
    (_markers / name).touch()


async def first(x: int, context: StageContext) -> int:
    mark(context)
    return x + 1


async def slow(x: int, context: StageContext) -> int:
    mark(context)
    deadline = time.monotonic() + RELEASE_TIMEOUT
    while not (_markers / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        await asyncio.sleep(0.05)
    return x * 10


async def last(x: int, context: StageContext) -> int:
    mark(context)
    return x + 5


async def noop(x: int) -> int:
    return x


async def work(x: int, context: StageContext) -> str:
    mark(context)
    await asyncio.sleep(0.3)
    return _executor_id


CRASH = Pipeline(
    name="crash",
    stages=[
        FunctionStage("first", first),
        FunctionStage("slow", slow, depends_on=["first"]),
        FunctionStage("last", last, depends_on=["slow"]),
    ],
    output="last",
    input_type=int,
)
BATCH = Pipeline(name="batch", stages=[FunctionStage("work", work)], output="work")
NOOP = Pipeline(name="noop", stages=[FunctionStage("noop", noop)], output="noop")  # bench


def registry() -> PipelineRegistry:
    return PipelineRegistry([CRASH, BATCH, NOOP])


def queue_is_polled(queue: str) -> bool:
    """DBOS polls each queue from a thread named after it (started within ~1 s of the
    queue's registration): once it runs, this worker takes its share of new runs."""
    return any(t.name == f"queue-worker-{queue}" for t in threading.enumerate())


async def main(system_db: str, app_db: str, executor_id: str, recover: str | None) -> None:
    database = Database.from_url(app_db, pool_size=2) if app_db else None
    executor = DbosPipelineExecutor(
        registry(),
        scheduler=schedule,
        steps=DirectStepRunnerFactory(SystemClock()),
        system_database_url=system_db,
        app_name=APP_NAME,
        queue_name=QUEUE,
        worker_concurrency=int(os.environ.get("MAI_DBOS_WORKER_CONCURRENCY", "2")),
        executor_id=executor_id,
        application_version=VERSION,
        polling_interval=0.1,
        store=SqlPipelineRunStore(database) if database else None,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await executor.start()
    try:
        if recover:
            await executor.recover([recover])
        while not queue_is_polled(QUEUE):  # noqa: ASYNC110  (a thread list: no event to await)
            await asyncio.sleep(0.02)
        print("ready", flush=True)
        await stop.wait()
    finally:
        await executor.close()
        if database is not None:
            await database.close()


if __name__ == "__main__":
    system_db, app_db, marker_dir, executor = sys.argv[1:5]
    _markers, _executor_id = Path(marker_dir), executor
    recover_id = sys.argv[5] if len(sys.argv) > 5 else None
    asyncio.run(main(system_db, app_db, executor, recover_id))
