"""Reading and deleting a user's conversations. Every call is scoped by the owner."""

from __future__ import annotations

from uuid import UUID

from domain.conversations.models import Conversation, Message
from domain.conversations.ports import ConversationStore
from domain.errors import NotFound
from domain.pagination import Page, clamp_page_size
from domain.ports import Clock


def _not_found(conversation_id: UUID) -> NotFound:
    return NotFound("Conversation not found.", details={"conversation_id": str(conversation_id)})


class ListConversations:
    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    async def execute(
        self, user_id: UUID, limit: int = 20, after: str | None = None
    ) -> Page[Conversation]:
        return await self._store.page(user_id, clamp_page_size(limit), after)


class GetConversation:
    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    async def execute(self, user_id: UUID, conversation_id: UUID) -> Conversation:
        conversation = await self._store.get(user_id, conversation_id)
        if conversation is None:
            raise _not_found(conversation_id)
        return conversation


class ListMessages:
    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    async def execute(
        self, user_id: UUID, conversation_id: UUID, limit: int = 50, after: str | None = None
    ) -> Page[Message]:
        if await self._store.get(user_id, conversation_id) is None:
            raise _not_found(conversation_id)
        return await self._store.messages(user_id, conversation_id, clamp_page_size(limit), after)


class DeleteConversation:
    """Soft delete: the conversation disappears for the user but can be restored."""

    def __init__(self, store: ConversationStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def execute(self, user_id: UUID, conversation_id: UUID) -> None:
        if not await self._store.soft_delete(user_id, conversation_id, self._clock.now()):
            raise _not_found(conversation_id)
