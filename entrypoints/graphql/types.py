"""GraphQL object types, mapped from domain models."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.types import Info

from domain.conversations.models import Conversation, Message
from domain.health import AdapterHealth
from domain.identity.models import User


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
