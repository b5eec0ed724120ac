"""Pipelines over GraphQL: `pipelines`, `pipelineRun(id)`, `pipelineRuns`, the
`runPipeline` mutation (at once, or `wait: true`) and the `pipelineEvents(runId)`
subscription (stage events as they happen, from whichever process runs the stages,
ending with RUN_FINISHED carrying the run)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.pipelines.pipeline import Pipeline
from domain.pipelines.runs import PipelineRun
from entrypoints.graphql.context import Context
from entrypoints.graphql.types import parse_id
from entrypoints.streaming import jsonable


@strawberry.type(name="Pipeline")
class PipelineType:
    name: str
    description: str
    definition: JSON
    mermaid: str

    @classmethod
    def of(cls, p: Pipeline[Any, Any]) -> PipelineType:
        return cls(
            name=p.name,
            description=p.description,
            definition=jsonable(p.to_dict()),
            mermaid=p.to_mermaid(),
        )


@strawberry.type(name="PipelineRun")
class PipelineRunType:
    id: strawberry.ID
    pipeline: str
    status: str
    input: JSON | None
    output: JSON | None
    stages: JSON
    error: JSON | None
    created_at: str
    finished_at: str | None

    @classmethod
    def of(cls, run: PipelineRun) -> PipelineRunType:
        return cls.from_data(run.to_dict())

    @classmethod
    def from_data(cls, d: dict[str, Any]) -> PipelineRunType:
        return cls(
            id=strawberry.ID(d["id"]),
            pipeline=d["pipeline"],
            status=d["status"],
            input=d["input"],
            output=d["output"],
            stages=d["stages"],
            error=d["error"],
            created_at=d["created_at"],
            finished_at=d["finished_at"],
        )


@strawberry.type(name="PipelineEvent")
class PipelineEventType:
    """A stage's progress (`stage`, `status`: running, retrying, succeeded, failed,
    skipped, cached, cancelled) or, last, `type: RUN_FINISHED` with the whole `run`."""

    type: str
    stage: str | None
    status: str | None
    attempt: int | None
    error: JSON | None
    run: PipelineRunType | None

    @classmethod
    def of(cls, event: dict[str, Any]) -> PipelineEventType:
        if event.get("type") == "run_finished":
            run = event["run"]
            return cls(
                type="RUN_FINISHED",
                stage=None,
                status=run["status"],
                attempt=None,
                error=run["error"],
                run=PipelineRunType.from_data(run),
            )
        return cls(
            type="STAGE",
            stage=event.get("stage"),
            status=event.get("status"),
            attempt=event.get("attempt"),
            error=event.get("error"),
            run=None,
        )


@strawberry.type
class PipelineQuery:
    @strawberry.field(description="The declared pipelines, with their DAG as Mermaid.")
    async def pipelines(self, info: Info[Context, None]) -> list[PipelineType]:
        await info.context.require_user()
        return [PipelineType.of(p) for p in info.context.container.pipelines().all()]

    @strawberry.field(description="One of your pipeline runs.")
    async def pipeline_run(self, info: Info[Context, None], id: strawberry.ID) -> PipelineRunType:
        user = await info.context.require_user()
        run = await info.context.container.pipelines().get_run(user.id, parse_id(id, "id"))
        return PipelineRunType.of(run)


@strawberry.type
class PipelineMutation:
    @strawberry.mutation(description="Start a run; `wait: true` returns it finished.")
    async def run_pipeline(
        self, info: Info[Context, None], name: str, input: JSON, wait: bool = False
    ) -> PipelineRunType:
        user = await info.context.require_user()
        run = await info.context.container.pipelines().run(user.id, name, input, wait=wait)
        return PipelineRunType.of(run)


@strawberry.type
class PipelineSubscription:
    @strawberry.subscription(description="A run's stage events until it finishes.")
    async def pipeline_events(
        self, info: Info[Context, None], run_id: strawberry.ID
    ) -> AsyncGenerator[PipelineEventType, None]:
        user = await info.context.require_user()
        follow = info.context.container.pipelines().follow(user.id, parse_id(run_id, "runId"))
        async for event in follow:
            yield PipelineEventType.of(event)
