"""Contract of `PipelineRunStore`: runs round-trip with their stage results, saving again
replaces them, reads are owner-scoped and listing is cursor-paged newest first."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete

from adapters.sql.database import Database
from adapters.sql.tables import users
from domain.errors import Conflict
from domain.pipelines.ports import PipelineRunStore
from domain.pipelines.runs import PipelineRun, RunStatus, StageResult, StageStatus

from .conftest import SQL_ONLY, MakeUser, at


def started_run(user_id: UUID, created: float = 0) -> PipelineRun:
    run = PipelineRun("summarise", user_id, {"text": "zoë", "n": [1, 2]}, created_at=at(created))
    run.start(at(created + 1))
    return run


def finished(run: PipelineRun) -> PipelineRun:
    """The run as the executor leaves it: one stage succeeded, one failed, one skipped."""
    run.record(
        StageResult(
            "fetch",
            StageStatus.SUCCEEDED,
            attempts=2,
            duration=0.25,
            output={"words": ["a", "b"], "ok": True, "none": None},
            started_at=at(2),
            finished_at=at(3),
        )
    )
    error = {"code": "STAGE_TIMEOUT", "message": "slow", "details": {"stage": "draft"}}
    run.record(
        StageResult(
            "draft", StageStatus.FAILED, 3, 1.5, error=error, started_at=at(3), finished_at=at(5)
        )
    )
    skipped = {"code": "RUN_ABORTED", "message": "Not run.", "details": {}, "retryable": False}
    run.record(StageResult("polish", StageStatus.SKIPPED, error=skipped, finished_at=at(5)))
    run.finish(at(6), "polish")
    return run


async def test_a_started_run_round_trips(
    pipeline_run_store: PipelineRunStore, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    run = started_run(alice.id)

    await pipeline_run_store.save(run)

    got = await pipeline_run_store.get(run.id, alice.id)
    assert got == run
    assert got.status is RunStatus.RUNNING and got.stages == {} and got.output is None
    assert got.created_at.tzinfo is not None and got.finished_at is None


async def test_saving_again_updates_status_and_stages(
    pipeline_run_store: PipelineRunStore, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    run = started_run(alice.id)
    await pipeline_run_store.save(run)

    await pipeline_run_store.save(finished(run))

    got = await pipeline_run_store.get(run.id, alice.id)
    assert got == run
    assert got.status is RunStatus.FAILED
    assert list(got.stages) == ["fetch", "draft", "polish"]  # the order they finished in
    assert got.stages["fetch"].output == {"words": ["a", "b"], "ok": True, "none": None}
    assert got.error is not None and got.error["details"] == {"failed_stages": ["draft"]}


async def test_fewer_stages_on_a_later_save_replace_the_old_ones(
    pipeline_run_store: PipelineRunStore, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    run = finished(started_run(alice.id))
    await pipeline_run_store.save(run)

    run.stages = {"fetch": run.stages["fetch"]}
    run.status, run.output, run.error = RunStatus.SUCCEEDED, "done", None
    await pipeline_run_store.save(run)

    got = await pipeline_run_store.get(run.id, alice.id)
    assert got == run and list(got.stages) == ["fetch"]


async def test_returned_runs_are_copies(
    pipeline_run_store: PipelineRunStore, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    run = finished(started_run(alice.id))
    await pipeline_run_store.save(run)
    run.stages["fetch"].output["words"].append("c")

    got = await pipeline_run_store.get(run.id, alice.id)
    assert got is not None and got.stages["fetch"].output["words"] == ["a", "b"]


async def test_paging_is_newest_first_without_gaps_or_repeats(
    pipeline_run_store: PipelineRunStore, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    runs = [started_run(alice.id, created=i // 2) for i in range(7)]  # pairs share a time
    for run in runs:
        await pipeline_run_store.save(run)
    expected = sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)

    seen: list[UUID] = []
    after: str | None = None
    pages = 0
    while True:
        page = await pipeline_run_store.page(alice.id, limit=3, after=after)
        seen += [r.id for r in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        after = page.next_cursor

    assert seen == [r.id for r in expected]
    assert pages == 3


async def test_another_users_run_is_invisible(
    pipeline_run_store: PipelineRunStore, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    hers = finished(started_run(alice.id))
    await pipeline_run_store.save(hers)

    assert await pipeline_run_store.get(hers.id, bob.id) is None
    assert (await pipeline_run_store.page(bob.id)).items == []
    assert await pipeline_run_store.get(uuid4(), alice.id) is None


async def test_a_run_id_cannot_change_owner(
    pipeline_run_store: PipelineRunStore, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    hers = started_run(alice.id)
    await pipeline_run_store.save(hers)
    stolen = started_run(bob.id)
    stolen.id = hers.id

    with pytest.raises(Conflict):
        await pipeline_run_store.save(stolen)

    assert await pipeline_run_store.get(hers.id, alice.id) == hers
    assert await pipeline_run_store.get(hers.id, bob.id) is None


@SQL_ONLY
async def test_deleting_the_user_deletes_their_runs(
    pipeline_run_store: PipelineRunStore, clean_database: Database | None, make_user: MakeUser
) -> None:
    assert clean_database is not None
    alice = await make_user("alice")
    run = finished(started_run(alice.id))
    await pipeline_run_store.save(run)

    async with clean_database.transaction() as tx:
        await tx.execute(delete(users).where(users.c.id == alice.id))

    assert await pipeline_run_store.get(run.id, alice.id) is None
