"""Recording and reading eval runs: stored with their case scores, the score published."""

from __future__ import annotations

from uuid import UUID

from domain.errors import NotFound
from domain.evals.models import EvalRun
from domain.evals.ports import EvalMetrics, EvalRunStore
from domain.pagination import Page


class EvalRuns:
    """record · list · get · refresh_metrics (the gauge, from the store, for /metrics)."""

    def __init__(self, store: EvalRunStore, metrics: EvalMetrics) -> None:
        self._store = store
        self._metrics = metrics

    async def record(self, run: EvalRun) -> None:
        await self._store.add(run)
        self._metrics.record(run)

    async def page(
        self, limit: int = 20, after: str | None = None, dataset: str | None = None
    ) -> Page[EvalRun]:
        return await self._store.page(limit, after, dataset)

    async def get(self, run_id: UUID) -> EvalRun:
        found = await self._store.get(run_id)
        if found is None:
            raise NotFound("Eval run not found.", details={"id": str(run_id)})
        return found

    async def refresh_metrics(self) -> None:
        """Runs recorded by other processes (the CLI) reach this process's gauge."""
        for run in await self._store.latest():
            self._metrics.record(run)
