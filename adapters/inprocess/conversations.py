"""In-process `ConversationStore`: the SQL adapter's behaviour over two public dicts.

Same isolation (every call is scoped by the owner), same ordering with the same id
tie-break, and the same `Cursor` tokens, so a page cursor means the same thing against
either store. Values are copied in and out, as a database would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.inprocess.messages import copy_message
from domain.conversations.models import Conversation, Message, MessageStatus
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.pagination import Cursor, Page, clamp_page_size


class InProcessConversationStore:
    def __init__(self) -> None:
        self.conversations: dict[UUID, Conversation] = {}
        self.messages_by_id: dict[UUID, Message] = {}
        self._lock = asyncio.Lock()

    def _owned(self, user_id: UUID, conversation_id: UUID) -> Conversation | None:
        found = self.conversations.get(conversation_id)
        if found is None or found.user_id != user_id or found.deleted_at is not None:
            return None
        return found

    def _ordered_messages(self, conversation_id: UUID) -> list[Message]:
        return sorted(
            (m for m in self.messages_by_id.values() if m.conversation_id == conversation_id),
            key=lambda m: (m.created_at, m.id),
        )

    async def create(self, conversation: Conversation, first: Message | None = None) -> None:
        if first is not None and first.conversation_id != conversation.id:
            raise ValidationFailed(
                "The first message belongs to another conversation.",
                details={"field": "conversation_id"},
            )
        async with self._lock:
            if conversation.id in self.conversations:
                raise Conflict("That conversation already exists.", details={"field": "id"})
            if first is not None and first.id in self.messages_by_id:
                raise Conflict("That message already exists.", details={"field": "id"})
            stored = self.conversations[conversation.id] = replace(conversation)
            if first is not None:
                self.messages_by_id[first.id] = copy_message(first)
                stored.updated_at = max(stored.updated_at, first.created_at)

    async def get(self, user_id: UUID, conversation_id: UUID) -> Conversation | None:
        found = self._owned(user_id, conversation_id)
        return None if found is None else replace(found)

    async def page(self, user_id: UUID, limit: int, after: str | None = None) -> Page[Conversation]:
        limit = clamp_page_size(limit)
        mine = [
            c for c in self.conversations.values() if c.user_id == user_id and c.deleted_at is None
        ]
        mine.sort(key=lambda c: (c.updated_at, c.id), reverse=True)
        if after is not None:
            cursor = Cursor.decode(after)
            mine = [c for c in mine if (c.updated_at, c.id) < (cursor.at, cursor.id)]
        items = [replace(c) for c in mine[:limit]]
        last = items[-1] if len(mine) > limit else None
        return Page(items, Cursor(last.updated_at, last.id).encode() if last else None)

    async def add_message(self, user_id: UUID, message: Message) -> None:
        async with self._lock:
            conversation = self._owned(user_id, message.conversation_id)
            if conversation is None:
                raise NotFound(
                    "Conversation not found.", details={"id": str(message.conversation_id)}
                )
            if message.id in self.messages_by_id:
                raise Conflict("That message already exists.", details={"field": "id"})
            self.messages_by_id[message.id] = copy_message(message)
            conversation.updated_at = max(conversation.updated_at, message.created_at)

    async def set_message_status(
        self,
        user_id: UUID,
        message_id: UUID,
        status: MessageStatus,
        error: Mapping[str, Any] | None,
    ) -> None:
        """Owner-checked, but allowed on a deleted conversation (as the SQL adapter)."""
        async with self._lock:
            message = self.messages_by_id.get(message_id)
            owner = None
            if message is not None and message.conversation_id in self.conversations:
                owner = self.conversations[message.conversation_id].user_id
            if message is None or owner != user_id:
                raise NotFound("Message not found.", details={"id": str(message_id)})
            message.status = status
            message.error = None if error is None else deepcopy(dict(error))

    async def messages(
        self, user_id: UUID, conversation_id: UUID, limit: int, after: str | None = None
    ) -> Page[Message]:
        limit = clamp_page_size(limit)
        cursor = Cursor.decode(after) if after is not None else None
        if self._owned(user_id, conversation_id) is None:
            raise NotFound("Conversation not found.", details={"id": str(conversation_id)})
        ordered = self._ordered_messages(conversation_id)
        if cursor is not None:
            ordered = [m for m in ordered if (m.created_at, m.id) > (cursor.at, cursor.id)]
        items = [copy_message(m) for m in ordered[:limit]]
        last = items[-1] if len(ordered) > limit else None
        return Page(items, Cursor(last.created_at, last.id).encode() if last else None)

    async def recent_messages(
        self, user_id: UUID, conversation_id: UUID, limit: int
    ) -> list[Message]:
        if self._owned(user_id, conversation_id) is None:
            raise NotFound("Conversation not found.", details={"id": str(conversation_id)})
        ordered = self._ordered_messages(conversation_id)
        return [copy_message(m) for m in ordered[-limit:]] if limit > 0 else []

    async def messages_for(
        self, user_id: UUID, conversation_ids: list[UUID], limit_per_conversation: int
    ) -> dict[UUID, list[Message]]:
        limit = clamp_page_size(limit_per_conversation)
        return {
            cid: [copy_message(m) for m in self._ordered_messages(cid)[:limit]]
            for cid in dict.fromkeys(conversation_ids)
            if self._owned(user_id, cid) is not None
        }

    async def soft_delete(self, user_id: UUID, conversation_id: UUID, at: datetime) -> bool:
        async with self._lock:
            conversation = self._owned(user_id, conversation_id)
            if conversation is None:
                return False
            conversation.deleted_at = at
            return True

    async def restore(self, user_id: UUID, conversation_id: UUID) -> bool:
        async with self._lock:
            found = self.conversations.get(conversation_id)
            if found is None or found.user_id != user_id or found.deleted_at is None:
                return False
            found.deleted_at = None
            return True
