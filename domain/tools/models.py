"""What a tool is to the framework: its metadata, and the approvals a gated call waits for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

# What OpenAI-compatible servers accept as a function name.
TOOL_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SEMVER_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def semver_key(version: str) -> tuple[int, int, int]:
    """`"1.10.0"` → `(1, 10, 0)`, so versions sort as numbers, not as text."""
    match = SEMVER_RE.match(version)
    if match is None:
        raise ValueError(f"{version!r} is not a MAJOR.MINOR.PATCH version")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


class ToolMetadata(BaseModel):
    """Everything the registry, the API and the model know about one version of a tool.

    `enabled` is the declared default; the registry overlays the persisted switch.
    `sensitive` keeps arguments out of logs; `user_scoped` puts the user in cache keys.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)  # JSON schema the model sees
    category: str = "general"
    version: str = "1.0.0"
    enabled: bool = True
    requires_approval: bool = False
    tags: tuple[str, ...] = ()
    sensitive: bool = False
    user_scoped: bool = False
    source: str = "python"  # "python", or "mcp:<server>" for tools served over MCP

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not TOOL_NAME_RE.match(v):
            raise ValueError("must be 1-64 letters, digits, '_' or '-', starting with a letter")
        return v

    @field_validator("version")
    @classmethod
    def _version(cls, v: str) -> str:
        semver_key(v)
        return v

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class PendingCall:
    """One tool call the model made that waits for a person's decision."""

    tool_call_id: str
    tool_name: str
    args: dict[str, Any]


@dataclass(slots=True)
class Approval:
    """A paused turn: the calls waiting for approval and the run state to resume from.

    `state` is the agent run's message history, serialised by the application; the domain
    keeps it opaque. Decisions are per call (`True` approves; a string rejects with that
    reason shown to the model).
    """

    user_id: UUID
    conversation_id: UUID
    agent_name: str
    message_id: UUID  # the user's message whose turn is paused
    prompt: str  # that message's text (the resumed turn records it with the reply)
    calls: list[PendingCall]
    state: str
    id: UUID = field(default_factory=uuid4)
    status: ApprovalStatus = ApprovalStatus.PENDING
    decisions: dict[str, bool | str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    resolved_at: datetime | None = None

    def to_public(self) -> dict[str, Any]:
        """What the API shows: no run state."""
        return {
            "id": str(self.id),
            "conversation_id": str(self.conversation_id),
            "agent": self.agent_name,
            "status": self.status.value,
            "calls": [
                {"id": c.tool_call_id, "name": c.tool_name, "args": c.args} for c in self.calls
            ],
            "created_at": self.created_at.isoformat(),
        }
