"""Conversations and the messages in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from domain.identity.models import utcnow


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class MessageStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"  # a user message whose turn failed (the failure is in `error`)
    PENDING_APPROVAL = "pending_approval"  # its turn waits for a person to approve a tool call


@dataclass(slots=True)
class Conversation:
    user_id: UUID
    agent_name: str
    title: str = ""
    id: UUID = field(default_factory=uuid4)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(slots=True)
class Message:
    conversation_id: UUID
    role: Role
    content: str
    id: UUID = field(default_factory=uuid4)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str | None = None
    token_count: int = 0
    status: MessageStatus = MessageStatus.OK
    error: dict[str, Any] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)


def title_from(message: str, limit: int = 60) -> str:
    """A conversation's default title: the first line of its first message, shortened."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"
