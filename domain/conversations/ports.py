"""The conversation store: every method is scoped by the owner, so isolation is the port's."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.conversations.models import Conversation, Message, MessageStatus
from domain.pagination import Page


class ConversationStore(Protocol):
    async def create(self, conversation: Conversation, first: Message | None = None) -> None:
        """Store a new conversation, with its first message in the same write when given
        (a new conversation's turn commits once before the model is called)."""

    async def get(self, user_id: UUID, conversation_id: UUID) -> Conversation | None:
        """The user's conversation, or None if it does not exist, is deleted or is not theirs."""

    async def page(self, user_id: UUID, limit: int, after: str | None = None) -> Page[Conversation]:
        """Most recently updated first; `after` is the previous page's cursor."""

    async def add_message(self, user_id: UUID, message: Message) -> None:
        """Append a message and touch the conversation; `NotFound` if it is not the user's."""

    async def set_message_status(
        self,
        user_id: UUID,
        message_id: UUID,
        status: MessageStatus,
        error: dict[str, object] | None,
    ) -> None: ...

    async def messages(
        self, user_id: UUID, conversation_id: UUID, limit: int, after: str | None = None
    ) -> Page[Message]:
        """Oldest first; `NotFound` if the conversation is not the user's."""

    async def recent_messages(
        self, user_id: UUID, conversation_id: UUID, limit: int
    ) -> list[Message]:
        """The newest `limit` messages in chronological order (the agent's context window);
        `NotFound` if the conversation is not the user's."""

    async def messages_for(
        self, user_id: UUID, conversation_ids: list[UUID], limit_per_conversation: int
    ) -> dict[UUID, list[Message]]:
        """Batch load for GraphQL DataLoaders: the first N messages, oldest first, of each of
        the user's live conversations (an empty list if it has none); unknown, deleted or
        other users' ids are left out."""

    async def soft_delete(self, user_id: UUID, conversation_id: UUID, at: datetime) -> bool: ...

    async def restore(self, user_id: UUID, conversation_id: UUID) -> bool: ...
