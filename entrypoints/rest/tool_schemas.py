"""Request and response bodies of /tools and /approvals."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.tools.models import Approval, ToolMetadata
from entrypoints.rest.schemas import JSONObject, Text


class ToolOut(BaseModel):
    name: str
    version: str
    description: str
    category: str
    enabled: bool
    requires_approval: bool
    tags: list[str]
    source: str = Field(description='"python", or "mcp:<server>" for a tool served over MCP.')
    parameters: dict[str, Any] = Field(description="The JSON schema the model sees.")

    @classmethod
    def of(cls, meta: ToolMetadata) -> ToolOut:
        return cls(
            name=meta.name,
            version=meta.version,
            description=meta.description,
            category=meta.category,
            enabled=meta.enabled,
            requires_approval=meta.requires_approval,
            tags=list(meta.tags),
            source=meta.source,
            parameters=meta.parameters,
        )


class ToolList(BaseModel):
    items: list[ToolOut] = Field(description="Every version of every tool, by name.")


class ToolPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class ToolInvokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    args: JSONObject = Field(default_factory=dict)
    version: Text | None = Field(default=None, max_length=32)


class ToolInvokeOut(BaseModel):
    tool: str
    version: str
    result: Any


class PendingCallOut(BaseModel):
    id: str
    name: str
    args: dict[str, Any]


class ApprovalOut(BaseModel):
    id: UUID
    conversation_id: UUID
    agent: str
    status: str
    calls: list[PendingCallOut]
    created_at: str

    @classmethod
    def of(cls, approval: Approval) -> ApprovalOut:
        return cls.model_validate(approval.to_public())


class ApprovalList(BaseModel):
    items: list[ApprovalOut]


class ApprovalDecisionIn(BaseModel):
    """Approve or reject every call of the paused turn (or per call with `decisions`)."""

    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: Text | None = Field(default=None, max_length=1000)
    decisions: dict[str, bool] | None = Field(
        default=None, description="Per tool-call id, overriding `approve` for that call."
    )
