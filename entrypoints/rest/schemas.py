"""REST request and response bodies (the public shapes; never a password field)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from application.memory import Mode
from domain.agents.models import AgentDefinition, TurnResult, TurnUsage
from domain.conversations.models import Conversation, Message
from domain.identity.models import TokenPair, User
from domain.memory.long_term import (
    MAX_MEMORY_CHARS,
    IndexState,
    Memory,
    MemoryKind,
    MemorySource,
    ScoredMemory,
)
from domain.user_input import check_text, check_value
from entrypoints.streaming import jsonable

#: Text and JSON values a store can keep (no NUL, no lone surrogate, bounded nesting):
#: anything else is a 422 VALIDATION_FAILED here, not a 500 further in.
Text = Annotated[str, AfterValidator(check_text)]
JSONObject = Annotated[dict[str, Any], AfterValidator(check_value)]
JSONValue = Annotated[Any, AfterValidator(check_value)]


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text = Field(min_length=1, max_length=64)
    email: Text = Field(min_length=3, max_length=254)
    password: Text = Field(min_length=1, max_length=256)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=256)


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenOut:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
        )


class UserOut(BaseModel):
    id: UUID
    username: str
    email: str
    is_active: bool
    is_superuser: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            is_active=user.is_active,
            is_superuser=user.is_superuser,
            created_at=user.created_at,
        )


class ConversationOut(BaseModel):
    id: UUID
    title: str
    agent: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls(
            id=c.id,
            title=c.title,
            agent=c.agent_name,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class MessageOut(BaseModel):
    id: UUID
    conversation_id: UUID
    role: str
    content: str
    status: str
    error: dict[str, Any] | None
    tool_calls: list[dict[str, Any]]
    tool_call_id: str | None
    token_count: int
    usage: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            conversation_id=m.conversation_id,
            role=m.role.value,
            content=m.content,
            status=m.status.value,
            error=m.error,
            tool_calls=m.tool_calls,
            tool_call_id=m.tool_call_id,
            token_count=m.token_count,
            usage=m.usage,
            created_at=m.created_at,
        )


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class AgentOut(BaseModel):
    name: str
    description: str
    output_type: str
    tools: list[str]

    @classmethod
    def of(cls, d: AgentDefinition) -> AgentOut:
        return cls(
            name=d.name, description=d.description, output_type=d.output_type, tools=list(d.tools)
        )


class AgentList(BaseModel):
    items: list[AgentOut]


class ChatIn(BaseModel):
    """One user turn. Empty → 422; longer than AGENTS__MAX_MESSAGE_CHARS → 413."""

    model_config = ConfigDict(extra="forbid")
    message: Text
    conversation_id: UUID | None = Field(
        default=None, description="Continue this conversation; omit to start a new one."
    )


class UsageOut(BaseModel):
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    tool_calls: int

    @classmethod
    def of(cls, usage: TurnUsage) -> UsageOut:
        return cls(**usage.to_dict())


class RunOut(BaseModel):
    conversation_id: UUID
    message_id: UUID = Field(
        description="The stored assistant message (the waiting user message when paused)."
    )
    output: Any = Field(description="The agent's output: text, or JSON for a typed agent.")
    usage: UsageOut
    pending_approval: dict[str, Any] | None = Field(
        default=None,
        description="Set when the turn paused for a person to approve tool calls "
        "({id, status, calls: [{id, name, args}], …}); decide with POST /approvals/{id}.",
    )

    @classmethod
    def of(cls, result: TurnResult) -> RunOut:
        return cls(
            conversation_id=result.conversation_id,
            message_id=result.message_id,
            output=jsonable(result.output),
            usage=UsageOut.of(result.usage),
            pending_approval=result.pending_approval,
        )


class MemoryIn(BaseModel):
    """Something to remember. Without `importance`, the domain's heuristic scores it."""

    model_config = ConfigDict(extra="forbid")
    content: Text = Field(min_length=1, max_length=MAX_MEMORY_CHARS)
    metadata: JSONObject = Field(default_factory=dict)
    importance: float | None = Field(default=None, ge=0.0, le=1.0)
    kind: MemoryKind = MemoryKind.EPISODIC


class MemoryPatch(BaseModel):
    """A correction: the fields given replace the memory's (`metadata` as a whole)."""

    model_config = ConfigDict(extra="forbid")
    content: Text | None = Field(default=None, min_length=1, max_length=MAX_MEMORY_CHARS)
    metadata: JSONObject | None = None
    importance: float | None = Field(default=None, ge=0.0, le=1.0)


class _MemoryFields(BaseModel):
    """The fields of a memory shown to users: never its embedding or index state."""

    id: UUID
    content: str
    kind: MemoryKind
    importance: float
    metadata: dict[str, Any]
    access_count: int
    last_accessed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    source: MemorySource = Field(description="Who wrote it: user, tool, extraction, episodic.")


def _memory_fields(m: Memory) -> dict[str, Any]:
    return {
        "id": m.id,
        "content": m.content,
        "kind": m.kind,
        "importance": m.importance,
        "metadata": m.metadata,
        "access_count": m.access_count,
        "last_accessed_at": m.last_accessed_at,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "source": m.source,
    }


class MemoryOut(_MemoryFields):
    """A memory as users see it (never its embedding or index state)."""

    @classmethod
    def of(cls, m: Memory) -> MemoryOut:
        return cls(**_memory_fields(m))


class MemoryDetailOut(_MemoryFields):
    """One memory with its provenance: where it came from and which model embedded it."""

    source_conversation_id: UUID | None = Field(description="The conversation it came from.")
    source_message_id: UUID | None = Field(description="The message it came from.")
    embedding_model: str | None = Field(description="The model that embedded it (None: not yet).")
    indexed: bool = Field(description="True once its vector is in the index.")

    @classmethod
    def of(cls, m: Memory) -> MemoryDetailOut:
        return cls(
            **_memory_fields(m),
            source_conversation_id=m.source_conversation_id,
            source_message_id=m.source_message_id,
            embedding_model=m.embedding_model,
            indexed=m.index_state is IndexState.INDEXED,
        )


class MemoryPage(BaseModel):
    items: list[MemoryOut]
    next_cursor: str | None


class ScoredMemoryOut(_MemoryFields):
    """A memory found by a search, with how it ranked."""

    score: float = Field(description="The rank: similarity blended with importance and recency.")
    similarity: float = Field(description="How well it matches the query, in the mode's measure.")
    dense: float | None = Field(
        default=None, description="Cosine similarity, when dense retrieval found it."
    )
    lexical: float | None = Field(
        default=None, description="Full-text rank, when lexical retrieval found it."
    )

    @classmethod
    def of(cls, s: ScoredMemory) -> ScoredMemoryOut:
        return cls(
            **_memory_fields(s.memory),
            score=s.score,
            similarity=s.similarity,
            dense=s.dense,
            lexical=s.lexical,
        )


class MemorySearchOut(BaseModel):
    items: list[ScoredMemoryOut] = Field(description="Best first.")
    mode: Mode = Field(description="The mode that ran: `lexical` when the index was down.")
    degraded: bool = Field(description="True when the vector index was unavailable.")
