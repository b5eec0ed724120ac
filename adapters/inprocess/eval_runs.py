"""In-process `EvalRunStore`: the tests' fake and the memory profile's store.

Runs are kept per id in a public dict, deep-copied in and out as a database would, and
listed newest first by (`created_at`, id) with the same `Cursor` tokens as the SQL store.
"""

from __future__ import annotations

import asyncio
from copy import deepcopy
from uuid import UUID

from domain.errors import Conflict
from domain.evals.models import EvalRun
from domain.pagination import Cursor, Page, clamp_page_size


class InProcessEvalRunStore:
    def __init__(self) -> None:
        self.runs: dict[UUID, EvalRun] = {}
        self._lock = asyncio.Lock()

    async def add(self, run: EvalRun) -> None:
        async with self._lock:
            if run.id in self.runs:
                raise Conflict("That eval run already exists.", details={"id": str(run.id)})
            self.runs[run.id] = deepcopy(run)

    async def get(self, run_id: UUID) -> EvalRun | None:
        found = self.runs.get(run_id)
        return None if found is None else deepcopy(found)

    async def page(
        self, limit: int = 50, after: str | None = None, dataset: str | None = None
    ) -> Page[EvalRun]:
        limit = clamp_page_size(limit)
        runs = sorted(
            (r for r in self.runs.values() if dataset is None or r.dataset == dataset),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        if after is not None:
            cursor = Cursor.decode(after)
            runs = [r for r in runs if (r.created_at, r.id) < (cursor.at, cursor.id)]
        items = [deepcopy(r) for r in runs[:limit]]
        last = items[-1] if len(runs) > limit else None
        return Page(items, Cursor(last.created_at, last.id).encode() if last else None)

    async def latest(self) -> list[EvalRun]:
        newest: dict[tuple[str, str, str], EvalRun] = {}
        for run in self.runs.values():
            key = (run.kind.value, run.dataset, run.target)
            held = newest.get(key)
            if held is None or (run.created_at, run.id) > (held.created_at, held.id):
                newest[key] = run
        return [deepcopy(r) for _, r in sorted(newest.items())]
