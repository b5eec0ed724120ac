"""Eval runs over GraphQL: `evalRuns(first, after, dataset)` and `evalRun(id)` with their
cases (superusers only, as over REST)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.errors import PermissionDenied
from domain.evals.models import CaseScore, EvalRun
from entrypoints.graphql.context import Context
from entrypoints.graphql.types import parse_id
from entrypoints.streaming import jsonable


@strawberry.type(name="EvalCase")
class EvalCaseType:
    name: str
    score: float
    duration: float
    assertions: JSON
    scores: JSON
    error: str | None
    output: str | None

    @classmethod
    def of(cls, c: CaseScore) -> EvalCaseType:
        return cls(
            name=c.name,
            score=c.score,
            duration=c.duration,
            assertions=jsonable(c.assertions),
            scores=jsonable(c.scores),
            error=c.error,
            output=c.output,
        )


@strawberry.type(name="EvalRun")
class EvalRunType:
    id: strawberry.ID
    kind: str
    dataset: str
    target: str
    model: str | None
    prompt_version: str | None
    score: float
    threshold: float | None
    passed: bool
    metrics: JSON
    created_at: str
    cases: list[EvalCaseType]

    @classmethod
    def of(cls, run: EvalRun) -> EvalRunType:
        return cls(
            id=strawberry.ID(str(run.id)),
            kind=run.kind.value,
            dataset=run.dataset,
            target=run.target,
            model=run.model,
            prompt_version=run.prompt_version,
            score=run.score,
            threshold=run.threshold,
            passed=run.passed,
            metrics=jsonable(run.metrics),
            created_at=run.created_at.isoformat(),
            cases=[EvalCaseType.of(c) for c in run.cases],
        )


@strawberry.type
class EvalRunConnection:
    items: list[EvalRunType]
    next_cursor: str | None


async def _superuser(info: Info[Context, None]) -> None:
    user = await info.context.require_user()
    if not user.is_superuser:
        raise PermissionDenied("This needs a superuser.")


@strawberry.type
class EvalQuery:
    @strawberry.field(description="Recorded eval runs, newest first (superusers only).")
    async def eval_runs(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        dataset: str | None = None,
    ) -> EvalRunConnection:
        await _superuser(info)
        page = await info.context.container.eval_runs().page(first, after, dataset)
        return EvalRunConnection(
            items=[EvalRunType.of(r) for r in page.items], next_cursor=page.next_cursor
        )

    @strawberry.field(description="One eval run with its cases (superusers only).")
    async def eval_run(self, info: Info[Context, None], id: strawberry.ID) -> EvalRunType:
        await _superuser(info)
        return EvalRunType.of(await info.context.container.eval_runs().get(parse_id(id, "id")))
