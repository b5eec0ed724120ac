"""What happens during a streamed chat turn, as one typed union.

Each kind of event is its own frozen dataclass with the fields it carries, so a transport
(SSE, GraphQL, /v1 chunks, the CLI) reads `event.usage` or `event.code` instead of digging
in a dict by convention. The union is decoded in one place only: where events cross
server processes on the event bus (`CHAT_EVENT_ADAPTER`, discriminated by `type`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from domain.agents.models import TurnUsage
from domain.errors import MAIError


class ChatEventType(StrEnum):
    DELTA = "delta"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    DONE = "done"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DeltaEvent:
    """The next piece of the reply's text."""

    conversation_id: UUID
    text: str
    type: Literal[ChatEventType.DELTA] = field(default=ChatEventType.DELTA, init=False)


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """The model called a tool (`id` is the call's, shared with its result)."""

    conversation_id: UUID
    id: str
    name: str
    args: dict[str, Any]
    type: Literal[ChatEventType.TOOL_CALL] = field(default=ChatEventType.TOOL_CALL, init=False)


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """A tool returned (`result` as JSON data)."""

    conversation_id: UUID
    id: str
    name: str
    result: Any
    type: Literal[ChatEventType.TOOL_RESULT] = field(default=ChatEventType.TOOL_RESULT, init=False)


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """The turn completed: its reply's id, usage and output (as JSON data). When it paused
    for a person to approve tool calls, `message_id` is the user's waiting message and
    `pending_approval` what waits."""

    conversation_id: UUID
    message_id: UUID
    usage: TurnUsage
    output: Any = None
    pending_approval: dict[str, Any] | None = None
    type: Literal[ChatEventType.DONE] = field(default=ChatEventType.DONE, init=False)


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """The turn failed: the framework's error, and the user's message (marked failed) once
    it was stored."""

    conversation_id: UUID
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    retryable: bool = False
    message_id: UUID | None = None
    type: Literal[ChatEventType.ERROR] = field(default=ChatEventType.ERROR, init=False)

    @classmethod
    def of(
        cls, error: MAIError, conversation_id: UUID, message_id: UUID | None = None
    ) -> ErrorEvent:
        return cls(
            conversation_id,
            error.code,
            error.message,
            dict(error.details),
            error.retryable,
            message_id,
        )

    @property
    def body(self) -> dict[str, Any]:
        """The contract's error object: {code, message, details, retryable}."""
        return {
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "retryable": self.retryable,
        }

    def as_error(self) -> MAIError:
        """The error again, to report like any other (the CLI raises it)."""
        return MAIError(
            self.message, code=self.code, details=dict(self.details), retryable=self.retryable
        )


ChatEvent = DeltaEvent | ToolCallEvent | ToolResultEvent | DoneEvent | ErrorEvent

#: Encodes a chat event as JSON data and decodes it back, by its `type`.
CHAT_EVENT_ADAPTER: TypeAdapter[ChatEvent] = TypeAdapter(
    Annotated[ChatEvent, Field(discriminator="type")]
)
