"""Proof that DBOS-backed pipeline runs are durable and shared between worker processes.

(a) A worker process is SIGKILLed in the middle of a run; another process adopts its runs
    and finishes the run without re-running the stage that had completed.
(b) Two worker processes share a batch of runs: each runs some, none runs one twice.
(c) In process, the DBOS executor reports the same run as `InProcessExecutor` for each
    error strategy.

(a) and (b) use a real PostgreSQL system database (and app schema, for the run records)
in a scratch database created and dropped here; workers are `tests.integration.dbos_worker`
processes, the runs are enqueued with a `DBOSClient` as an API process would. (c) uses a
SQLite system database. Stage executions are counted with marker files written by the
stages themselves.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from dbos import DBOS, DBOSClient, WorkflowHandleAsync
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.clock import SystemClock
from adapters.dbos.executor import DbosPipelineExecutor
from adapters.dbos.workflow import WORKFLOW_NAME
from adapters.inprocess.pipeline_runs import InProcessPipelineRunStore
from adapters.sql.database import Database
from adapters.sql.migrate import upgrade
from adapters.sql.pipeline_runs import SqlPipelineRunStore
from adapters.sql.users import SqlUserRepository
from application.pipelines.executor import InProcessExecutor
from application.pipelines.registry import PipelineRegistry
from application.pipelines.scheduler import schedule
from application.pipelines.steps import DirectStepRunnerFactory
from domain.identity.models import User
from domain.pipelines import (
    ErrorStrategy,
    FunctionStage,
    Pipeline,
    PipelineRun,
    RetryPolicy,
    RunStatus,
    StageContext,
    StageEvent,
    StageStatus,
)
from tests.integration import dbos_worker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("MAI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mai_test")
TIMEOUT = 30.0


# --- (a) and (b): worker processes on a PostgreSQL system database -------------------


class Scratch:
    def __init__(self, name: str, user: User) -> None:
        base = make_url(PG_URL).set(database=name)
        self.app_url = base.render_as_string(hide_password=False)
        self.system_url = base.set(drivername="postgresql").render_as_string(hide_password=False)
        self.user = user


@pytest.fixture(scope="module")
async def scratch() -> AsyncIterator[Scratch]:
    """A fresh database holding the app schema (run records) and DBOS's system schema."""
    base = make_url(PG_URL)
    name = f"mai_test_dbos_{uuid4().hex[:12]}"
    admin = create_async_engine(
        base.set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        await upgrade(url)
        db = Database.from_url(url, pool_size=1)
        user = User(username="runner", email="runner@example.com", password_hash="x")
        await SqlUserRepository(db).add(user)
        await db.close()
        found = Scratch(name, user)
        await asyncio.to_thread(DBOS.migrate, found.system_url)  # not raced by two workers
        yield found
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def client(scratch: Scratch) -> Iterator[DBOSClient]:
    dbos_client = DBOSClient(
        system_database_url=scratch.system_url, application_name=dbos_worker.APP_NAME
    )
    yield dbos_client
    dbos_client.destroy()


def spawn(command: list[str], log: Path) -> subprocess.Popen[str]:
    """A worker process: `ready` on stdout, its logs in `log`."""
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=out, text=True)


class Workers:
    """Worker processes started by one test, all stopped (or killed) at its end."""

    def __init__(self, scratch: Scratch, markers: Path, logs: Path) -> None:
        self.scratch, self.markers, self.logs = scratch, markers, logs
        self.processes: list[subprocess.Popen[str]] = []

    async def start(self, executor_id: str, recover: str | None = None) -> subprocess.Popen[str]:
        args = [self.scratch.system_url, self.scratch.app_url, str(self.markers), executor_id]
        command = [sys.executable, "-m", "tests.integration.dbos_worker", *args]
        process = spawn([*command, *([recover] if recover else [])], self.logs / executor_id)
        self.processes.append(process)
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), TIMEOUT)
        if line.strip() != "ready":
            log_text = (self.logs / executor_id).read_text()[-3000:]
            pytest.fail(f"worker {executor_id} did not start:\n{log_text}")
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(scratch: Scratch, tmp_path: Path) -> Iterator[Workers]:
    (tmp_path / "markers").mkdir()
    started = Workers(scratch, tmp_path / "markers", tmp_path)
    yield started
    started.stop()


def executions(markers: Path, stage: str, run_id: UUID) -> Counter[str]:
    """How many times each worker started `stage` of `run_id`."""
    return Counter(p.name.split(".")[2] for p in markers.glob(f"{stage}.{run_id}.*"))


async def enqueue(client: DBOSClient, pipeline: str, run_id: UUID, user: UUID, value: int) -> None:
    options: Any = {
        "queue_name": dbos_worker.QUEUE,
        "workflow_name": WORKFLOW_NAME,
        "workflow_id": str(run_id),
        "app_version": dbos_worker.VERSION,
    }
    now = datetime.now(UTC)
    await client.enqueue_async(options, pipeline, str(run_id), str(user), value, now, False)


async def result(client: DBOSClient, run_id: UUID) -> PipelineRun:
    handle: WorkflowHandleAsync[PipelineRun] = await client.retrieve_workflow_async(str(run_id))
    run: PipelineRun = await asyncio.wait_for(handle.get_result(polling_interval_sec=0.1), TIMEOUT)
    return run


async def test_a_killed_worker_is_resumed_by_another_without_rerunning_finished_stages(
    scratch: Scratch, client: DBOSClient, workers: Workers
) -> None:
    first = await workers.start("worker-a")
    run_id = uuid4()
    await enqueue(client, "crash", run_id, scratch.user.id, 1)
    deadline = time.monotonic() + TIMEOUT
    while not executions(workers.markers, "slow", run_id):  # `first` returned: checkpointed
        assert time.monotonic() < deadline, "the slow stage never started"
        await asyncio.sleep(0.02)

    first.send_signal(signal.SIGKILL)
    first.wait()
    (workers.markers / "release").touch()
    await workers.start("worker-b", recover="worker-a")
    run = await result(client, run_id)

    assert run.status is RunStatus.SUCCEEDED and run.output == (1 + 1) * 10 + 5
    assert executions(workers.markers, "first", run_id) == {"worker-a": 1}
    assert executions(workers.markers, "slow", run_id) == {"worker-a": 1, "worker-b": 1}
    assert executions(workers.markers, "last", run_id) == {"worker-b": 1}
    db = Database.from_url(scratch.app_url, pool_size=1)
    try:
        stored = await SqlPipelineRunStore(db).get(run_id, scratch.user.id)
    finally:
        await db.close()
    assert stored is not None and stored.status is RunStatus.SUCCEEDED and stored.output == 25
    assert [(s.stage, s.status) for s in stored.stages.values()] == [
        ("first", StageStatus.SUCCEEDED),
        ("slow", StageStatus.SUCCEEDED),
        ("last", StageStatus.SUCCEEDED),
    ]


async def test_b_two_workers_split_a_batch_and_run_each_run_once(
    scratch: Scratch, client: DBOSClient, workers: Workers
) -> None:
    await asyncio.gather(workers.start("worker-1"), workers.start("worker-2"))
    run_ids = [uuid4() for _ in range(10)]
    for i, run_id in enumerate(run_ids):
        await enqueue(client, "batch", run_id, scratch.user.id, i)

    runs = await asyncio.gather(*(result(client, run_id) for run_id in run_ids))

    ran_by = {run_id: executions(workers.markers, "work", run_id) for run_id in run_ids}
    assert all(sum(counts.values()) == 1 for counts in ran_by.values()), ran_by
    per_worker = Counter(next(iter(counts)) for counts in ran_by.values())
    assert set(per_worker) == {"worker-1", "worker-2"}, per_worker
    assert [run.output for run in runs] == [next(iter(ran_by[r])) for r in run_ids]
    assert all(run.status is RunStatus.SUCCEEDED for run in runs)


# --- (c): the same results as InProcessExecutor, in process, on SQLite ----------------

_failures: Counter[UUID] = Counter()


async def plus_one(x: int) -> int:
    return x + 1


async def slow_double(x: int, context: StageContext) -> int:
    await asyncio.sleep(2.0 if context.pipeline.endswith("fail_fast") else 0.05)
    return x * 2


async def flaky_triple(x: int, context: StageContext) -> int:
    """Fails on its first attempt in each run (so only `retry` gets past it)."""
    _failures[context.run_id] += 1
    if _failures[context.run_id] == 1:
        raise ValueError("first attempt fails")
    return x * 3


async def add(parts: dict[str, int]) -> int:
    return sum(parts.values())


def dag(strategy: ErrorStrategy) -> Pipeline[Any, Any]:
    """a → (b, c) → d; b is slow under fail_fast (so it is cancelled), c fails once."""
    return Pipeline(
        name=f"dag_{strategy.value}",
        stages=[
            FunctionStage("a", plus_one),
            FunctionStage("b", slow_double, depends_on=["a"]),
            FunctionStage(
                "c", flaky_triple, depends_on=["a"], retry=RetryPolicy(attempts=3, backoff=0.01)
            ),
            FunctionStage("d", add, depends_on=["b", "c"]),
        ],
        output="d",
        error_strategy=strategy,
    )


PIPELINES = {strategy: dag(strategy) for strategy in ErrorStrategy}


@pytest.fixture(scope="module")
def run_store() -> InProcessPipelineRunStore:
    return InProcessPipelineRunStore()


@pytest.fixture(scope="module")
async def in_process_dbos(
    tmp_path_factory: pytest.TempPathFactory, run_store: InProcessPipelineRunStore
) -> AsyncIterator[DbosPipelineExecutor]:
    path = tmp_path_factory.mktemp("dbos") / "system.sqlite"
    executor = DbosPipelineExecutor(
        PipelineRegistry(PIPELINES.values()),
        scheduler=schedule,
        steps=DirectStepRunnerFactory(SystemClock()),
        system_database_url=f"sqlite:///{path}",
        app_name="mai-test-in-process",
        executor_id="in-process",
        polling_interval=0.05,
        store=run_store,
    )
    await executor.start()
    yield executor
    await executor.close()


def summary(run: PipelineRun) -> dict[str, Any]:
    def code(error: dict[str, Any] | None) -> str | None:
        return None if error is None else error["code"]

    return {
        "status": run.status,
        "output": run.output,
        "error": code(run.error),
        "stages": {
            name: (r.status, r.attempts, r.output, code(r.error))
            for name, r in sorted(run.stages.items())
        },
    }


@pytest.mark.parametrize("strategy", list(ErrorStrategy))
async def test_c_dbos_reports_what_in_process_reports(
    strategy: ErrorStrategy,
    in_process_dbos: DbosPipelineExecutor,
    run_store: InProcessPipelineRunStore,
) -> None:
    pipeline, user = PIPELINES[strategy], uuid4()
    expected_events: list[StageEvent] = []
    events: list[StageEvent] = []
    in_process = InProcessExecutor(clock=SystemClock())

    expected = await in_process.run(pipeline, 1, user_id=user, on_event=expected_events.append)
    durable = await in_process_dbos.run(pipeline, 1, user_id=user, on_event=events.append)

    assert summary(durable) == summary(expected)
    assert sorted((e.stage, e.status, e.attempt) for e in events) == sorted(
        (e.stage, e.status, e.attempt) for e in expected_events
    )
    assert await run_store.get(durable.id, user) == durable  # saved by the worker
    expected_status = RunStatus.SUCCEEDED if strategy is ErrorStrategy.RETRY else RunStatus.FAILED
    assert durable.status is expected_status
