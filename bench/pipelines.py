"""Pipelines: what the scheduler costs per stage, and how many durable runs per second
DBOS workers sustain.

1. `InProcessExecutor` on 8 independent no-op stages (parallel mode) vs a bare
   `asyncio.gather` of the same coroutines: the difference over 8 is the per-stage cost
   of scheduling, events, timing and the run record.
2. Durable runs of a one-stage no-op pipeline, enqueued in a burst with a `DBOSClient`
   and run by 1, then 2 `tests.integration.dbos_worker` processes on a PostgreSQL system
   database (a scratch database created and dropped here): runs/s, amortised.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from uuid import uuid4

from dbos import DBOS, DBOSClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.clock import SystemClock
from adapters.dbos.workflow import WORKFLOW_NAME
from application.pipelines.executor import InProcessExecutor
from bench.harness import Row, Timing, compare
from domain.pipelines import ExecutionMode, FunctionStage, Pipeline
from tests.integration import dbos_worker

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MAI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mai_test")
STAGES = 8
RUNS = 200
WORKER_CONCURRENCY = "16"


async def noop(x: int) -> int:
    return x


def fan_out() -> Pipeline[Any, Any]:
    """8 roots feeding one collector (every stage must reach the output)."""

    async def collect(parts: dict[str, int]) -> int:
        return len(parts)

    roots = [FunctionStage(f"s{i}", noop) for i in range(STAGES - 1)]
    collector = FunctionStage("collect", collect, depends_on=[s.name for s in roots])
    return Pipeline(
        name="bench_fan_out",
        stages=[*roots, collector],
        output="collect",
        mode=ExecutionMode.PARALLEL,
        max_concurrency=STAGES,
    )


async def scheduler_overhead() -> Row:
    pipeline, executor, user = fan_out(), InProcessExecutor(clock=SystemClock()), uuid4()

    async def subject() -> None:
        await executor.run(pipeline, 1, user_id=user)

    async def baseline() -> None:
        parts = await asyncio.gather(*(noop(1) for _ in range(STAGES - 1)))
        await noop(len(parts))

    timed, bare = await compare(subject, baseline, n=600)
    per_stage = (timed.p50 - bare.p50) / STAGES
    return Row(
        f"pipeline run, {STAGES} no-op stages (in process)",
        timed,
        bare,
        "asyncio.gather",
        note=f"≈{per_stage * 1e6:.0f} µs scheduler overhead per stage",
    )


def spawn(system_url: str, markers: Path, executor_id: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MAI_DBOS_WORKER_CONCURRENCY": WORKER_CONCURRENCY}
    args = [system_url, "", str(markers), executor_id]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.dbos_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


async def burst(system_url: str, workers: int, markers: Path) -> Timing:
    """Enqueue RUNS runs at once and wait for all of them; one amortised sample."""
    processes = [spawn(system_url, markers, f"bench-{workers}-{i}") for i in range(workers)]
    client = DBOSClient(system_database_url=system_url, application_name=dbos_worker.APP_NAME)
    try:
        for process in processes:
            assert process.stdout is not None
            line = await asyncio.to_thread(process.stdout.readline)
            assert line.strip() == "ready", "a bench worker did not start"
        options: Any = {"queue_name": dbos_worker.QUEUE, "workflow_name": WORKFLOW_NAME}
        user, now = str(uuid4()), datetime.now(UTC)
        started = time.perf_counter()
        ids = []
        for i in range(RUNS):
            run_id = str(uuid4())
            await client.enqueue_async(
                {**options, "workflow_id": run_id}, "noop", run_id, user, i, now, False
            )
            ids.append(run_id)
        for run_id in ids:
            handle: Any = await client.retrieve_workflow_async(run_id)
            await handle.get_result(polling_interval_sec=0.05)
        return Timing([(time.perf_counter() - started) / RUNS])
    finally:
        client.destroy()
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.to_thread(process.wait)


async def durable_throughput() -> list[Row]:
    base = make_url(PG_URL)
    name = f"mai_bench_dbos_{uuid4().hex[:12]}"
    system_url = base.set(drivername="postgresql", database=name).render_as_string(False)
    admin = create_async_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        await asyncio.to_thread(DBOS.migrate, system_url)
        with TemporaryDirectory() as markers:
            one = await burst(system_url, 1, Path(markers))
            two = await burst(system_url, 2, Path(markers))
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
    note = f"{RUNS} queued runs, concurrency {WORKER_CONCURRENCY} per worker, PostgreSQL"
    return [
        Row("durable run, 1 DBOS worker (amortised)", one, note=note),
        Row("durable run, 2 DBOS workers (amortised)", two, one, "1 worker", note=note),
    ]


async def run() -> list[Row]:
    return [await scheduler_overhead(), *await durable_throughput()]
