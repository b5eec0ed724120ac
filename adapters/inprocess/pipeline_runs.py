"""In-process `PipelineRunStore`: the tests' fake and the embedded profile's store.

Runs are kept per id in a public dict; every read is scoped by the owner, ordered newest
first by (`created_at`, id) and paged with the same `Cursor` tokens as the SQL stores.
Runs are deep-copied in and out, as a database would, so a caller mutating a run it holds
does not change the stored one.
"""

from __future__ import annotations

import asyncio
from copy import deepcopy
from uuid import UUID

from domain.errors import Conflict
from domain.pagination import Cursor, Page, clamp_page_size
from domain.pipelines.runs import PipelineRun


class InProcessPipelineRunStore:
    def __init__(self) -> None:
        self.runs: dict[UUID, PipelineRun] = {}
        self._lock = asyncio.Lock()

    async def save(self, run: PipelineRun) -> None:
        async with self._lock:
            existing = self.runs.get(run.id)
            if existing is not None and existing.user_id != run.user_id:
                raise Conflict("That run already exists.", details={"id": str(run.id)})
            self.runs[run.id] = deepcopy(run)

    async def get(self, run_id: UUID, user_id: UUID) -> PipelineRun | None:
        found = self.runs.get(run_id)
        if found is None or found.user_id != user_id:
            return None
        return deepcopy(found)

    async def page(
        self, user_id: UUID, limit: int = 50, after: str | None = None
    ) -> Page[PipelineRun]:
        limit = clamp_page_size(limit)
        mine = sorted(
            (r for r in self.runs.values() if r.user_id == user_id),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        if after is not None:
            cursor = Cursor.decode(after)
            mine = [r for r in mine if (r.created_at, r.id) < (cursor.at, cursor.id)]
        items = [deepcopy(r) for r in mine[:limit]]
        last = items[-1] if len(mine) > limit else None
        return Page(items, Cursor(last.created_at, last.id).encode() if last else None)
