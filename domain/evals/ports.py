"""Ports of the evals capability."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from domain.evals.models import EvalRun
from domain.pagination import Page


class EvalRunStore(Protocol):
    """Where eval runs are kept (the database; an in-memory fake in tests)."""

    async def add(self, run: EvalRun) -> None:
        """Store a finished run; `Conflict` if its id is taken."""

    async def get(self, run_id: UUID) -> EvalRun | None: ...

    async def page(
        self, limit: int = 50, after: str | None = None, dataset: str | None = None
    ) -> Page[EvalRun]:
        """Newest first, cursor-paged; only `dataset`'s runs when given."""

    async def latest(self) -> list[EvalRun]:
        """The newest run of each (kind, dataset, target): what the score gauge shows."""


class EvalMetrics(Protocol):
    """Where the last score of each dataset is published (a Prometheus gauge)."""

    def record(self, run: EvalRun) -> None: ...
