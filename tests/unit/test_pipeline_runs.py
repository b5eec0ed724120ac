"""Pipeline runs: the run store keeps each user's runs apart; the use-cases record a run
when it starts and when it ends, however it ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from adapters.clock import SystemClock
from adapters.inprocess.pipeline_runs import InProcessPipelineRunStore
from application.pipelines.executor import InProcessExecutor
from application.pipelines.runs import GetPipelineRun, ListPipelineRuns, RunPipeline
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.pipelines import FunctionStage, Pipeline, PipelineRun, RunStatus

ADA, EVE = uuid4(), uuid4()
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def run_of(user: Any, minutes: int = 0) -> PipelineRun:
    return PipelineRun("p", user, None, created_at=T0 + timedelta(minutes=minutes))


async def test_a_user_never_reads_another_users_run() -> None:
    store = InProcessPipelineRunStore()
    mine = run_of(ADA)
    await store.save(mine)
    assert (await store.get(mine.id, ADA)) == mine
    assert await store.get(mine.id, EVE) is None
    assert (await store.page(EVE)).items == []
    with pytest.raises(NotFound):
        await GetPipelineRun(store).execute(mine.id, EVE)
    with pytest.raises(Conflict):  # nor take it over by saving under the same id
        await store.save(PipelineRun("p", EVE, None, id=mine.id))


async def test_runs_are_copied_in_and_out() -> None:
    store = InProcessPipelineRunStore()
    run = run_of(ADA)
    await store.save(run)
    run.status = RunStatus.FAILED
    fetched = await store.get(run.id, ADA)
    assert fetched is not None and fetched.status is RunStatus.PENDING


async def test_listing_is_newest_first_and_paged() -> None:
    store = InProcessPipelineRunStore()
    runs = [run_of(ADA, minutes=i) for i in range(5)]
    for r in runs:
        await store.save(r)
    await store.save(run_of(EVE, minutes=9))
    first = await ListPipelineRuns(store).execute(ADA, limit=3)
    assert [r.id for r in first.items] == [r.id for r in runs[::-1][:3]]
    second = await ListPipelineRuns(store).execute(ADA, limit=3, after=first.next_cursor)
    assert [r.id for r in second.items] == [runs[1].id, runs[0].id]
    assert second.next_cursor is None


def pipeline(fn: Any) -> Pipeline[int, int]:
    return Pipeline(name="calc", stages=[FunctionStage("s", fn)], output="s", input_type=int)


def use_case(store: InProcessPipelineRunStore) -> RunPipeline:
    return RunPipeline(InProcessExecutor(clock=SystemClock()), store, SystemClock())


async def test_run_pipeline_saves_the_finished_run() -> None:
    store = InProcessPipelineRunStore()
    run = await use_case(store).execute(pipeline(lambda x: x + 1), "41", user_id=ADA)
    assert run.status is RunStatus.SUCCEEDED and run.output == 42
    assert await GetPipelineRun(store).execute(run.id, ADA) == run


async def test_a_failed_run_is_returned_and_saved_not_raised() -> None:
    def broken(x: int) -> int:
        raise ValueError("no")

    store = InProcessPipelineRunStore()
    run = await use_case(store).execute(pipeline(broken), 1, user_id=ADA)
    assert run.status is RunStatus.FAILED
    assert (await GetPipelineRun(store).execute(run.id, ADA)).status is RunStatus.FAILED


async def test_an_invalid_input_saves_nothing() -> None:
    store = InProcessPipelineRunStore()
    with pytest.raises(ValidationFailed):
        await use_case(store).execute(pipeline(lambda x: x), "forty", user_id=ADA)
    assert store.runs == {}


async def test_a_running_run_is_visible_and_a_cancelled_one_is_recorded() -> None:
    started = asyncio.Event()

    async def slow(x: int) -> int:
        started.set()
        await asyncio.sleep(5)
        return x

    store = InProcessPipelineRunStore()
    task = asyncio.create_task(use_case(store).execute(pipeline(slow), 1, user_id=ADA))
    await started.wait()
    (running,) = (await store.page(ADA)).items
    assert running.status is RunStatus.RUNNING
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await GetPipelineRun(store).execute(running.id, ADA)).status is RunStatus.CANCELLED
