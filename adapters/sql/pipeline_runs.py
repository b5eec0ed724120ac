"""`PipelineRunStore` on SQL: one row per run, one row per stage result.

`save` is an upsert of the run (`INSERT ... ON CONFLICT (id) DO UPDATE`, guarded so a run
id can never change owner) followed by replacing the run's stage rows, all in one
transaction: a reader sees the run before or after a save, never half of it. Every read
carries the owner's id, so another user's run is simply not found. Listing is keyset-paged
on (`created_at`, id), newest first, with the same cursors as the in-memory fake.

Inputs, outputs and stage outputs are stored as JSON (`jsonable`): models come back as
plain dicts, which is what the API serves anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.database import Database
from adapters.sql.tables import pipeline_runs, pipeline_stage_results
from domain.errors import Conflict
from domain.pagination import Cursor, Page, clamp_page_size
from domain.pipelines.runs import PipelineRun, RunStatus, StageResult, StageStatus, jsonable

_r = pipeline_runs.c
_s = pipeline_stage_results.c


def _run_values(run: PipelineRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "user_id": run.user_id,
        "pipeline": run.pipeline,
        "status": run.status.value,
        "input": jsonable(run.input),
        "output": jsonable(run.output),
        "error": run.error,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def _stage_values(run_id: UUID, position: int, result: StageResult) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "stage": result.stage,
        "position": position,
        "status": result.status.value,
        "attempts": result.attempts,
        "duration": result.duration,
        "output": jsonable(result.output),
        "error": result.error,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
    }


def _to_stage(row: RowMapping) -> StageResult:
    return StageResult(
        stage=row["stage"],
        status=StageStatus(row["status"]),
        attempts=row["attempts"],
        duration=row["duration"],
        output=row["output"],
        error=row["error"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def _to_run(row: RowMapping, stages: Iterable[RowMapping]) -> PipelineRun:
    return PipelineRun(
        pipeline=row["pipeline"],
        user_id=row["user_id"],
        input=row["input"],
        id=row["id"],
        status=RunStatus(row["status"]),
        output=row["output"],
        stages={s["stage"]: _to_stage(s) for s in stages},
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


class SqlPipelineRunStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _upsert(self, values: dict[str, Any]) -> Any:
        """Insert the run, or update it when the same owner saves it again; a row owned
        by someone else is left alone (no row counted), which `save` turns into Conflict."""
        changes = {k: v for k, v in values.items() if k not in ("id", "user_id")}
        if self._db.dialect == "postgresql":
            pg = postgresql.insert(pipeline_runs).values(values)
            return pg.on_conflict_do_update(
                index_elements=["id"], set_=changes, where=_r.user_id == pg.excluded.user_id
            )
        lite = sqlite.insert(pipeline_runs).values(values)
        return lite.on_conflict_do_update(
            index_elements=["id"], set_=changes, where=_r.user_id == lite.excluded.user_id
        )

    async def save(self, run: PipelineRun) -> None:
        stages = [_stage_values(run.id, i, r) for i, r in enumerate(run.stages.values())]
        try:
            async with self._db.transaction() as tx:
                result = await tx.execute(self._upsert(_run_values(run)))
                if result.rowcount != 1:
                    raise Conflict("That run already exists.", details={"id": str(run.id)})
                await tx.execute(delete(pipeline_stage_results).where(_s.run_id == run.id))
                if stages:
                    await tx.execute(insert(pipeline_stage_results), stages)
        except IntegrityError:  # the owner does not exist
            raise Conflict("That run cannot be stored.", details={"id": str(run.id)}) from None

    async def get(self, run_id: UUID, user_id: UUID) -> PipelineRun | None:
        query = select(pipeline_runs).where(_r.id == run_id, _r.user_id == user_id)
        async with self._db.transaction() as tx:
            row = (await tx.execute(query)).mappings().first()
            if row is None:
                return None
            stages = await _stages_of(tx, [run_id])
        return _to_run(row, stages.get(run_id, []))

    async def page(
        self, user_id: UUID, limit: int = 50, after: str | None = None
    ) -> Page[PipelineRun]:
        limit = clamp_page_size(limit)
        query = select(pipeline_runs).where(_r.user_id == user_id)
        if after is not None:
            cursor = Cursor.decode(after)
            query = query.where(
                or_(
                    _r.created_at < cursor.at,
                    and_(_r.created_at == cursor.at, _r.id < cursor.id),
                )
            )
        query = query.order_by(_r.created_at.desc(), _r.id.desc()).limit(limit + 1)
        async with self._db.transaction() as tx:
            rows = (await tx.execute(query)).mappings().all()
            page = rows[:limit]
            stages = await _stages_of(tx, [row["id"] for row in page])
        items = [_to_run(row, stages.get(row["id"], [])) for row in page]
        last = items[-1] if len(rows) > limit else None
        return Page(items, Cursor(last.created_at, last.id).encode() if last else None)


async def _stages_of(tx: AsyncConnection, run_ids: list[UUID]) -> dict[UUID, list[RowMapping]]:
    """The stage rows of these runs, each run's in the order its stages finished."""
    if not run_ids:
        return {}
    query = (
        select(pipeline_stage_results)
        .where(_s.run_id.in_(run_ids))
        .order_by(_s.run_id, _s.position)
    )
    grouped: dict[UUID, list[RowMapping]] = {}
    for row in (await tx.execute(query)).mappings():
        grouped.setdefault(row["run_id"], []).append(row)
    return grouped
