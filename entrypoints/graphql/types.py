"""GraphQL object types, mapped from domain models."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.agents.models import AgentDefinition, TurnResult, TurnUsage
from domain.conversations.models import Conversation, Message
from domain.errors import ValidationFailed
from domain.health import AdapterHealth
from domain.identity.models import User
from domain.memory.long_term import Memory, MemoryKind, ScoredMemory
from entrypoints.streaming import jsonable


@strawberry.type
class AdapterStatus:
    name: str
    ok: bool
    backend: str
    required: bool
    detail: str

    @classmethod
    def of(cls, a: AdapterHealth) -> AdapterStatus:
        return cls(name=a.name, ok=a.ok, backend=a.backend, required=a.required, detail=a.detail)


@strawberry.type
class Health:
    status: str
    adapters: list[AdapterStatus]


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    username: str
    email: str
    is_active: bool
    is_superuser: bool
    created_at: datetime

    @classmethod
    def of(cls, u: User) -> UserType:
        return cls(
            id=strawberry.ID(str(u.id)),
            username=u.username,
            email=u.email,
            is_active=u.is_active,
            is_superuser=u.is_superuser,
            created_at=u.created_at,
        )


@strawberry.type(name="Message")
class MessageType:
    id: strawberry.ID
    role: str
    content: str
    status: str
    token_count: int
    created_at: datetime

    @classmethod
    def of(cls, m: Message) -> MessageType:
        return cls(
            id=strawberry.ID(str(m.id)),
            role=m.role.value,
            content=m.content,
            status=m.status.value,
            token_count=m.token_count,
            created_at=m.created_at,
        )


@strawberry.type(name="Conversation")
class ConversationType:
    id: strawberry.ID
    title: str
    agent: str
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The conversation's messages, oldest first (first 100).")
    async def messages(self, info: Info) -> list[MessageType]:
        found = await info.context.messages_loader.load(UUID(str(self.id)))
        return [MessageType.of(m) for m in found]

    @classmethod
    def of(cls, c: Conversation) -> ConversationType:
        return cls(
            id=strawberry.ID(str(c.id)),
            title=c.title,
            agent=c.agent_name,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


@strawberry.type
class ConversationConnection:
    items: list[ConversationType]
    next_cursor: str | None


def parse_id(value: strawberry.ID, field: str) -> UUID:
    """A GraphQL ID argument as a UUID; a malformed one is a VALIDATION_FAILED error."""
    try:
        return UUID(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} is not a valid id.", details={"field": field}) from None


@strawberry.type(name="Agent")
class AgentType:
    name: str
    description: str
    output_type: str
    tools: list[str]

    @classmethod
    def of(cls, d: AgentDefinition) -> AgentType:
        return cls(
            name=d.name, description=d.description, output_type=d.output_type, tools=list(d.tools)
        )


@strawberry.type(name="Usage")
class UsageType:
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    tool_calls: int
    cached_tokens: int = 0

    @classmethod
    def of(cls, u: TurnUsage) -> UsageType:
        return cls(**u.to_dict())


@strawberry.type(name="TurnResult")
class TurnResultType:
    conversation_id: strawberry.ID
    message_id: strawberry.ID = strawberry.field(description="The stored assistant message.")
    output: JSON | None = strawberry.field(
        description="Text, or a JSON object for a typed agent; null while the turn waits "
        "for a tool call's approval."
    )
    usage: UsageType
    pending_approval: JSON | None = strawberry.field(
        default=None,
        description="Set when the turn paused for a tool call's approval: "
        "{id, calls: [{id, name, args}], ...}; decide with `resolveApproval`.",
    )

    @classmethod
    def of(cls, r: TurnResult) -> TurnResultType:
        return cls(
            conversation_id=strawberry.ID(str(r.conversation_id)),
            message_id=strawberry.ID(str(r.message_id)),
            output=jsonable(r.output),
            usage=UsageType.of(r.usage),
            pending_approval=jsonable(r.pending_approval),
        )


@strawberry.enum(name="MemoryKind")
class MemoryKindEnum(Enum):
    EPISODIC = "episodic"
    FACT = "fact"
    PREFERENCE = "preference"

    def domain(self) -> MemoryKind:
        return MemoryKind(self.value)


@strawberry.enum(name="MemorySearchMode")
class MemorySearchMode(Enum):
    HYBRID = "hybrid"
    DENSE = "dense"
    LEXICAL = "lexical"


@strawberry.type(name="Memory")
class MemoryType:
    """A long-term memory; `score` and `similarity` are set when it was found by a search."""

    id: strawberry.ID
    content: str
    kind: MemoryKindEnum
    importance: float
    metadata: JSON
    access_count: int
    last_accessed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    source: str = strawberry.field(description="Who wrote it: user, tool, extraction, episodic.")
    source_conversation_id: strawberry.ID | None = None
    source_message_id: strawberry.ID | None = None
    embedding_model: str | None = strawberry.field(
        default=None, description="The model that embedded it (null: not embedded yet)."
    )
    score: float | None = None
    similarity: float | None = None
    dense: float | None = strawberry.field(
        default=None, description="Cosine similarity, when dense retrieval found it."
    )
    lexical: float | None = strawberry.field(
        default=None, description="Full-text rank, when lexical retrieval found it."
    )

    @classmethod
    def of(cls, m: Memory, scored: ScoredMemory | None = None) -> MemoryType:
        return cls(
            id=strawberry.ID(str(m.id)),
            content=m.content,
            kind=MemoryKindEnum(m.kind.value),
            importance=m.importance,
            metadata=jsonable(m.metadata),
            access_count=m.access_count,
            last_accessed_at=m.last_accessed_at,
            created_at=m.created_at,
            updated_at=m.updated_at,
            source=m.source.value,
            source_conversation_id=_id_or_none(m.source_conversation_id),
            source_message_id=_id_or_none(m.source_message_id),
            embedding_model=m.embedding_model,
            score=None if scored is None else scored.score,
            similarity=None if scored is None else scored.similarity,
            dense=None if scored is None else scored.dense,
            lexical=None if scored is None else scored.lexical,
        )

    @classmethod
    def found(cls, s: ScoredMemory) -> MemoryType:
        return cls.of(s.memory, s)


def _id_or_none(value: UUID | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type
class MemoryConnection:
    """Recent memories (paged by `nextCursor`), or a search's best `k` (one page, `mode` and
    `degraded` set: `degraded` is true when the vector index was down and only lexical
    search ran)."""

    items: list[MemoryType]
    next_cursor: str | None = None
    mode: MemorySearchMode | None = None
    degraded: bool = False
