"""Tools over GraphQL: the `tools` and `approvals` queries, `setToolEnabled` (superusers)
and `resolveApproval` (resumes the paused turn and returns its result)."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.tools.models import Approval, ApprovalStatus, ToolMetadata
from entrypoints.graphql.context import Context
from entrypoints.graphql.types import TurnResultType, parse_id
from entrypoints.streaming import jsonable


@strawberry.type(name="Tool")
class ToolType:
    name: str
    version: str
    description: str
    category: str
    enabled: bool
    requires_approval: bool
    tags: list[str]
    source: str
    parameters: JSON

    @classmethod
    def of(cls, m: ToolMetadata) -> ToolType:
        return cls(
            name=m.name,
            version=m.version,
            description=m.description,
            category=m.category,
            enabled=m.enabled,
            requires_approval=m.requires_approval,
            tags=list(m.tags),
            source=m.source,
            parameters=jsonable(m.parameters),
        )


@strawberry.type(name="Approval")
class ApprovalType:
    id: strawberry.ID
    conversation_id: strawberry.ID
    agent: str
    status: str
    calls: JSON = strawberry.field(description="[{id, name, args}]: the calls waiting.")
    created_at: str

    @classmethod
    def of(cls, a: Approval) -> ApprovalType:
        public = a.to_public()
        return cls(
            id=strawberry.ID(public["id"]),
            conversation_id=strawberry.ID(public["conversation_id"]),
            agent=public["agent"],
            status=public["status"],
            calls=public["calls"],
            created_at=public["created_at"],
        )


@strawberry.type
class ToolQuery:
    @strawberry.field(description="Every version of every tool, with its switch.")
    async def tools(self, info: Info[Context, None], category: str | None = None) -> list[ToolType]:
        await info.context.require_user()
        return [ToolType.of(m) for m in await info.context.container.tools().all(category)]

    @strawberry.field(description="Your paused tool calls; `pendingOnly` for those waiting.")
    async def approvals(
        self, info: Info[Context, None], pending_only: bool = True
    ) -> list[ApprovalType]:
        user = await info.context.require_user()
        status = ApprovalStatus.PENDING if pending_only else None
        found = await info.context.container.approvals().for_user(user.id, status)
        return [ApprovalType.of(a) for a in found]


@strawberry.type
class ToolMutation:
    @strawberry.mutation(description="Switch a tool on or off everywhere (superusers only).")
    async def set_tool_enabled(
        self, info: Info[Context, None], name: str, enabled: bool
    ) -> ToolType:
        user = await info.context.require_user()
        return ToolType.of(await info.context.container.tools().set_enabled(user, name, enabled))

    @strawberry.mutation(description="Approve or reject a paused turn's tool calls; resumes it.")
    async def resolve_approval(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        approve: bool,
        reason: str | None = None,
    ) -> TurnResultType:
        user = await info.context.require_user()
        result = await info.context.container.resolve_approval().execute(
            user.id, parse_id(id, "id"), approve, reason=reason
        )
        return TurnResultType.of(result)
