"""`ConversationWindowStore` in process: the embedded profile's cache and the tests' fake.

Same behaviour as the Redis store (the contract suite runs on both): windows expire
after their TTL (on a monotonic clock, injectable for tests), `append` only touches an
existing window and trims it to the newest `max_messages`, a message id is loaded once.
Bounded: at most `max_conversations` windows, the least recently used evicted first, so
a long-running embedded server cannot grow without limit. Values are copied in and out,
as Redis would.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from adapters.inprocess.messages import copy_message
from domain.conversations.models import Message
from domain.memory.window import CachedWindow


@dataclass(slots=True)
class _Entry:
    messages: list[Message]
    summary: str | None
    summarized_count: int
    expires_at: float


class InProcessWindowStore:
    def __init__(
        self, *, max_conversations: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_conversations < 1:
            raise ValueError("max_conversations must be at least 1")
        self.max_conversations = max_conversations
        self.entries: OrderedDict[UUID, _Entry] = OrderedDict()  # least recently used first
        self._clock = clock
        self._lock = asyncio.Lock()

    async def load(self, conversation_id: UUID) -> CachedWindow | None:
        async with self._lock:
            entry = self._live(conversation_id)
            if entry is None:
                return None
            self.entries.move_to_end(conversation_id)
            return CachedWindow(_unique(entry.messages), entry.summary, entry.summarized_count)

    async def save(self, conversation_id: UUID, window: CachedWindow, ttl_seconds: int) -> None:
        now = self._clock()
        expires_at = now + _ttl(ttl_seconds)
        async with self._lock:
            while self.entries and next(iter(self.entries.values())).expires_at <= now:
                self.entries.popitem(last=False)  # expired and least recently used
            self.entries[conversation_id] = _Entry(
                [copy_message(m) for m in window.messages],
                window.summary,
                window.summarized_count,
                expires_at,
            )
            self.entries.move_to_end(conversation_id)
            while len(self.entries) > self.max_conversations:
                self.entries.popitem(last=False)

    async def append(
        self,
        conversation_id: UUID,
        messages: Sequence[Message],
        max_messages: int,
        ttl_seconds: int,
    ) -> bool:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        ttl = _ttl(ttl_seconds)
        async with self._lock:
            entry = self._live(conversation_id)
            if entry is None:
                return False
            entry.messages.extend(copy_message(m) for m in messages)
            del entry.messages[:-max_messages]
            entry.expires_at = self._clock() + ttl
            self.entries.move_to_end(conversation_id)
            return True

    async def invalidate(self, conversation_id: UUID) -> None:
        async with self._lock:
            self.entries.pop(conversation_id, None)

    async def ttl_remaining(self, conversation_id: UUID) -> float | None:
        """Seconds before the window expires; None if there is none (not part of the port)."""
        entry = self._live(conversation_id)
        return None if entry is None else entry.expires_at - self._clock()

    def _live(self, conversation_id: UUID) -> _Entry | None:
        """The entry if it has not expired; an expired one is removed."""
        entry = self.entries.get(conversation_id)
        if entry is not None and entry.expires_at <= self._clock():
            del self.entries[conversation_id]
            return None
        return entry


def _unique(messages: list[Message]) -> list[Message]:
    """Copies, each id once (at its first place), like the Redis store's load."""
    seen: set[UUID] = set()
    out: list[Message] = []
    for m in messages:
        if m.id not in seen:
            seen.add(m.id)
            out.append(copy_message(m))
    return out


def _ttl(ttl_seconds: int) -> float:
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    return float(ttl_seconds)
