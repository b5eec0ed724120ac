"""`EvalRunStore` on SQL: one row per run, its case scores a JSON list beside it.

Listing is keyset-paged on (`created_at`, id), newest first, with the same cursors as the
in-memory fake. `latest` asks for the newest row of each (kind, dataset, target) with a
window function, which PostgreSQL and SQLite (3.25+) both run.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from adapters.sql.database import Database
from adapters.sql.tables import eval_runs
from domain.errors import Conflict
from domain.evals.models import CaseScore, EvalKind, EvalRun
from domain.pagination import Cursor, Page, clamp_page_size

_e = eval_runs.c


def _values(run: EvalRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind.value,
        "dataset": run.dataset,
        "target": run.target,
        "model": run.model,
        "prompt_version": run.prompt_version,
        "score": run.score,
        "threshold": run.threshold,
        "metrics": dict(run.metrics),
        "cases": [asdict(c) for c in run.cases],
        "details": dict(run.details),
        "created_at": run.created_at,
    }


def _to_run(row: RowMapping) -> EvalRun:
    return EvalRun(
        kind=EvalKind(row["kind"]),
        dataset=row["dataset"],
        target=row["target"],
        score=row["score"],
        cases=[CaseScore(**c) for c in row["cases"]],
        metrics=dict(row["metrics"]),
        model=row["model"],
        prompt_version=row["prompt_version"],
        threshold=row["threshold"],
        details=dict(row["details"]),
        id=row["id"],
        created_at=row["created_at"],
    )


class SqlEvalRunStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, run: EvalRun) -> None:
        try:
            async with self._db.transaction() as tx:
                await tx.execute(insert(eval_runs).values(_values(run)))
        except IntegrityError:
            raise Conflict("That eval run already exists.", details={"id": str(run.id)}) from None

    async def get(self, run_id: UUID) -> EvalRun | None:
        async with self._db.transaction() as tx:
            row = (await tx.execute(select(eval_runs).where(_e.id == run_id))).mappings().first()
        return None if row is None else _to_run(row)

    async def page(
        self, limit: int = 50, after: str | None = None, dataset: str | None = None
    ) -> Page[EvalRun]:
        limit = clamp_page_size(limit)
        query = select(eval_runs)
        if dataset is not None:
            query = query.where(_e.dataset == dataset)
        if after is not None:
            cursor = Cursor.decode(after)
            query = query.where(
                or_(
                    _e.created_at < cursor.at,
                    and_(_e.created_at == cursor.at, _e.id < cursor.id),
                )
            )
        query = query.order_by(_e.created_at.desc(), _e.id.desc()).limit(limit + 1)
        async with self._db.transaction() as tx:
            rows = (await tx.execute(query)).mappings().all()
        items = [_to_run(row) for row in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        return Page(items, Cursor(last.created_at, last.id).encode() if last else None)

    async def latest(self) -> list[EvalRun]:
        position = (
            func.row_number()
            .over(
                partition_by=(_e.kind, _e.dataset, _e.target),
                order_by=(_e.created_at.desc(), _e.id.desc()),
            )
            .label("position")
        )
        ranked = select(eval_runs, position).subquery()
        query = (
            select(*[ranked.c[c.name] for c in eval_runs.columns])
            .where(ranked.c.position == 1)
            .order_by(ranked.c.kind, ranked.c.dataset, ranked.c.target)
        )
        async with self._db.transaction() as tx:
            rows = (await tx.execute(query)).mappings().all()
        return [_to_run(row) for row in rows]
