"""Ports of short-term memory: the window cache and the summarizer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from domain.conversations.models import Message
from domain.memory.window import CachedWindow

__all__ = ["CachedWindow", "ConversationWindowStore", "Summarizer"]


class ConversationWindowStore(Protocol):
    """The cache of each conversation's recent window, shaped for one read and one write
    per turn. Everything in it can be rebuilt from the database; when the backend cannot
    answer, every method raises `domain.memory.errors.CacheUnavailable`."""

    async def load(self, conversation_id: UUID) -> CachedWindow | None:
        """The cached window, or None on a miss (the caller rebuilds it from the database
        and `save`s it). A message id appears at most once."""

    async def save(self, conversation_id: UUID, window: CachedWindow, ttl_seconds: int) -> None:
        """Replace the window (after a rebuild or a new summary); it expires after
        `ttl_seconds`."""

    async def append(
        self,
        conversation_id: UUID,
        messages: Sequence[Message],
        max_messages: int,
        ttl_seconds: int,
    ) -> bool:
        """Atomically add `messages` to the end of an existing window, keep its newest
        `max_messages`, and reset its TTL. On a miss, do nothing and return False (a
        partial window must never be created; the next `load` rebuilds). Concurrent
        appends to one conversation all land, each batch contiguous and in order."""

    async def invalidate(self, conversation_id: UUID) -> None:
        """Forget the window (e.g. the conversation was deleted or edited)."""


class Summarizer(Protocol):
    """Folds messages that left the window into the running summary (an LLM call)."""

    async def summarize(self, previous_summary: str | None, messages: list[Message]) -> str: ...
