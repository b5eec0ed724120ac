"""/tools: the registry (listing for everyone, switches for superusers, direct calls) and
/approvals: tool calls waiting for the user's decision, which resumes the paused turn."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from domain.tools.models import ApprovalStatus
from entrypoints.rest.deps import ContainerDep, CurrentSuperuser, CurrentUser
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.schemas import RunOut
from entrypoints.rest.tool_schemas import (
    ApprovalDecisionIn,
    ApprovalList,
    ApprovalOut,
    ToolInvokeIn,
    ToolInvokeOut,
    ToolList,
    ToolOut,
    ToolPatch,
)

router = APIRouter(tags=["tools"], responses=ERROR_RESPONSES)
Category = Annotated[str | None, Query(max_length=64)]
Version = Annotated[str | None, Query(max_length=32)]


@router.get("/tools", response_model=ToolList)
async def list_tools(
    _user: CurrentUser, container: ContainerDep, category: Category = None
) -> ToolList:
    tools = await container.tools().all(category)
    return ToolList(items=[ToolOut.of(m) for m in tools])


@router.get("/tools/{name}", response_model=ToolOut)
async def get_tool(
    name: str, _user: CurrentUser, container: ContainerDep, version: Version = None
) -> ToolOut:
    """The latest version, or `?version=` for a pinned one."""
    return ToolOut.of(await container.tools().get(name, version))


@router.patch("/tools/{name}", response_model=ToolOut)
async def patch_tool(
    name: str, body: ToolPatch, user: CurrentSuperuser, container: ContainerDep
) -> ToolOut:
    """Switch a tool (every version) on or off for every agent and server process."""
    return ToolOut.of(await container.tools().set_enabled(user, name, body.enabled))


@router.post("/tools/{name}/invoke", response_model=ToolInvokeOut)
async def invoke_tool(
    name: str, body: ToolInvokeIn, user: CurrentUser, container: ContainerDep
) -> ToolInvokeOut:
    """Call an enabled tool directly, with the same validation, guards (cache, rate
    limit: `429` + `Retry-After`), logging and metrics as an agent's call."""
    meta, result = await container.tools().invoke(user.id, name, body.args, body.version)
    return ToolInvokeOut(tool=meta.name, version=meta.version, result=result)


@router.get("/approvals", response_model=ApprovalList)
async def list_approvals(
    user: CurrentUser, container: ContainerDep, status: ApprovalStatus | None = None
) -> ApprovalList:
    """The user's paused tool calls, newest first (`?status=pending` for those waiting)."""
    found = await container.approvals().for_user(user.id, status)
    return ApprovalList(items=[ApprovalOut.of(a) for a in found])


@router.get("/approvals/{approval_id}", response_model=ApprovalOut)
async def get_approval(
    approval_id: UUID, user: CurrentUser, container: ContainerDep
) -> ApprovalOut:
    return ApprovalOut.of(await container.approvals().get(user.id, approval_id))


@router.post("/approvals/{approval_id}", response_model=RunOut)
async def decide(
    approval_id: UUID, body: ApprovalDecisionIn, user: CurrentUser, container: ContainerDep
) -> RunOut:
    """Approve or reject; the paused turn resumes and this answers with its result (which
    may pause again on the next gated call). Deciding twice is `409`."""
    result = await container.resolve_approval().execute(
        user.id, approval_id, body.approve, reason=body.reason, decisions=body.decisions
    )
    return RunOut.of(result)
