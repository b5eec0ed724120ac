"""/pipelines: the declared pipelines, runs started at once or waited for, a user's runs.

A run is the user's: another user's run id answers 404, as a missing one does.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.pipelines.pipeline import Pipeline
from domain.pipelines.runs import PipelineRun
from entrypoints.rest.deps import ContainerDep, CurrentUser
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.schemas import JSONValue

router = APIRouter(prefix="/pipelines", tags=["pipelines"], responses=ERROR_RESPONSES)


class PipelineOut(BaseModel):
    name: str
    description: str
    definition: dict[str, Any] = Field(description="Stages, dependencies, mode, layers.")
    mermaid: str = Field(description="The DAG as a Mermaid `graph TD` diagram.")

    @classmethod
    def of(cls, p: Pipeline[Any, Any]) -> PipelineOut:
        return cls(
            name=p.name, description=p.description, definition=p.to_dict(), mermaid=p.to_mermaid()
        )


class PipelineList(BaseModel):
    items: list[PipelineOut]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: JSONValue = Field(description="The pipeline's input (text, a list or an object).")


class RunOut(BaseModel):
    """A run: `status` pending/running/succeeded/failed/cancelled; `stages` name → result
    (status, attempts, duration, output, error)."""

    id: UUID
    pipeline: str
    status: str
    input: Any
    output: Any
    stages: dict[str, Any]
    error: dict[str, Any] | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    @classmethod
    def of(cls, run: PipelineRun) -> RunOut:
        data = run.to_dict()
        data.pop("user_id")
        return cls.model_validate(data)


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


Wait = Annotated[bool, Query(description="Answer when the run has finished (200).")]
Limit = Annotated[int, Query(ge=1, le=100)]
After = Annotated[str | None, Query(max_length=200)]


@router.get("", response_model=PipelineList)
async def list_pipelines(_user: CurrentUser, container: ContainerDep) -> PipelineList:
    return PipelineList(items=[PipelineOut.of(p) for p in container.pipelines().all()])


@router.get("/runs", response_model=RunPage)
async def list_runs(
    user: CurrentUser, container: ContainerDep, limit: Limit = 20, after: After = None
) -> RunPage:
    """Your runs, newest first."""
    page = await container.pipelines().list_runs(user.id, limit, after)
    return RunPage(items=[RunOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/runs/{run_id}", response_model=RunOut)
async def get_run(run_id: UUID, user: CurrentUser, container: ContainerDep) -> RunOut:
    return RunOut.of(await container.pipelines().get_run(user.id, run_id))


@router.get("/{name}", response_model=PipelineOut)
async def get_pipeline(name: str, _user: CurrentUser, container: ContainerDep) -> PipelineOut:
    return PipelineOut.of(container.pipelines().get(name))


@router.post(
    "/{name}/run",
    response_model=RunOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"description": "With `?wait=true`: the finished run."}},
)
async def run_pipeline(
    name: str,
    body: RunIn,
    user: CurrentUser,
    container: ContainerDep,
    response: Response,
    wait: Wait = False,
) -> RunOut:
    """Start a run: `202` with its id and status `running` at once (follow it with
    `GET /pipelines/runs/{id}` or the GraphQL `pipelineEvents` subscription), or with
    `?wait=true` `200` and the finished run. Stage failures are in the run, not errors."""
    run = await container.pipelines().run(user.id, name, body.input, wait=wait)
    if wait:
        response.status_code = status.HTTP_200_OK
    return RunOut.of(run)
