"""/evals: the recorded eval runs (`mai eval agent|memory`), newest first, with per-case
scores. Runs are the project's, not a user's, and can quote datasets and replies: a
superuser reads them (403 for anyone else)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from domain.evals.models import EvalRun
from entrypoints.rest.deps import ContainerDep, CurrentSuperuser
from entrypoints.rest.errors import ERROR_RESPONSES

router = APIRouter(prefix="/evals", tags=["evals"], responses=ERROR_RESPONSES)


class CaseOut(BaseModel):
    name: str
    score: float
    duration: float
    assertions: dict[str, bool]
    scores: dict[str, float]
    error: str | None
    output: str | None


class EvalRunSummary(BaseModel):
    id: UUID
    kind: str = Field(description="agent or memory")
    dataset: str
    target: str = Field(description="The agent, or the retrieval mode.")
    model: str | None
    prompt_version: str | None
    score: float = Field(description="Average case score (agent) or recall@10 (memory), 0..1.")
    threshold: float | None
    passed: bool
    metrics: dict[str, float]
    details: dict[str, Any]
    created_at: str

    @classmethod
    def fields_of(cls, run: EvalRun) -> dict[str, Any]:
        return {
            "id": run.id,
            "kind": run.kind.value,
            "dataset": run.dataset,
            "target": run.target,
            "model": run.model,
            "prompt_version": run.prompt_version,
            "score": run.score,
            "threshold": run.threshold,
            "passed": run.passed,
            "metrics": run.metrics,
            "details": run.details,
            "created_at": run.created_at.isoformat(),
        }

    @classmethod
    def of(cls, run: EvalRun) -> EvalRunSummary:
        return cls(**cls.fields_of(run))


class EvalRunOut(EvalRunSummary):
    cases: list[CaseOut]

    @classmethod
    def of(cls, run: EvalRun) -> EvalRunOut:
        cases = [CaseOut(**_case(c)) for c in run.cases]
        return cls(**cls.fields_of(run), cases=cases)


def _case(c: Any) -> dict[str, Any]:
    return {k: getattr(c, k) for k in CaseOut.model_fields}


class EvalRunPage(BaseModel):
    items: list[EvalRunSummary]
    next_cursor: str | None


@router.get("", response_model=EvalRunPage)
async def list_runs(
    user: CurrentSuperuser,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: str | None = None,
    dataset: Annotated[str | None, Query(max_length=200)] = None,
) -> EvalRunPage:
    page = await container.eval_runs().page(limit, after, dataset)
    return EvalRunPage(
        items=[EvalRunSummary.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/{eval_run_id}", response_model=EvalRunOut)
async def get_run(eval_run_id: UUID, user: CurrentSuperuser, container: ContainerDep) -> EvalRunOut:
    return EvalRunOut.of(await container.eval_runs().get(eval_run_id))
