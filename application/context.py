"""What the agent sees of a conversation each turn: the cached window, fitted to budget.

One cache read per turn (the window) and one write after it (an atomic append). On a miss
the window is rebuilt from the database, which is the truth; if the cache is down the
turn is served from the database too (degraded, logged) and never fails because of it.
When messages fall out of the window they are folded into a running summary by the
summarizer, off the request path; if that fails the plain window is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import structlog

from domain.agents.models import HistoryPolicy
from domain.conversations.models import Message
from domain.conversations.ports import ConversationStore
from domain.errors import ServiceUnavailable
from domain.memory.short_term import ConversationMemory, SummaryPolicy, TruncationResult
from domain.memory.short_term_ports import CachedWindow, ConversationWindowStore, Summarizer

log = structlog.get_logger("mai.context")


@dataclass(frozen=True, slots=True)
class TurnContext:
    messages: list[Message]  # what the model sees, oldest first, within budget
    summary: str | None
    fit: TruncationResult
    window: CachedWindow
    degraded: bool = False  # the cache was unavailable; built from the database


class ConversationContext:
    def __init__(
        self,
        conversations: ConversationStore,
        windows: ConversationWindowStore,
        *,
        ttl_seconds: int = 86_400,
        summary_policy: SummaryPolicy | None = None,
        summarizer: Summarizer | None = None,
    ) -> None:
        self._store = conversations
        self._windows = windows
        self._ttl = ttl_seconds
        self._policy = summary_policy or SummaryPolicy()
        self._summarizer = summarizer
        self._background: set[asyncio.Task[None]] = set()
        self._summarizing: set[UUID] = set()  # one summary at a time per conversation

    def capacity(self, history: HistoryPolicy) -> int:
        return self._policy.window_capacity(history.max_messages)

    async def load(
        self, user_id: UUID, conversation_id: UUID, history: HistoryPolicy
    ) -> TurnContext:
        degraded = False
        window: CachedWindow | None = None
        try:
            window = await self._windows.load(conversation_id)
        except ServiceUnavailable as exc:
            log.warning(
                "context_cache_unavailable", error=exc.code, conversation_id=str(conversation_id)
            )
            degraded = True
        if window is None:
            recent = await self._store.recent_messages(
                user_id, conversation_id, self.capacity(history)
            )
            window = CachedWindow(messages=recent)
            if not degraded:
                await self._save(conversation_id, window)
        memory = ConversationMemory.from_window(window)
        fit = memory.fit(history.max_messages, history.max_tokens)
        return TurnContext(fit.kept, memory.summary, fit, window, degraded)

    async def record(
        self, conversation_id: UUID, messages: Sequence[Message], history: HistoryPolicy
    ) -> None:
        """Append a completed turn to the cached window (one atomic write; a miss is fine:
        the next turn rebuilds from the database)."""
        try:
            await self._windows.append(conversation_id, messages, self.capacity(history), self._ttl)
        except ServiceUnavailable as exc:
            log.warning(
                "context_cache_append_failed", error=exc.code, conversation_id=str(conversation_id)
            )

    def summarize_later(self, conversation_id: UUID, context: TurnContext) -> None:
        """Fold what fell out of the window into the summary, after the turn."""
        if self._summarizer is None or not self._policy.should_summarize(context.fit):
            return
        if conversation_id in self._summarizing:
            return  # the running one folds these messages; the next turn sees its result
        self._summarizing.add(conversation_id)
        task = asyncio.create_task(self._summarize(conversation_id, context))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _summarize(self, conversation_id: UUID, context: TurnContext) -> None:
        assert self._summarizer is not None
        dropped = context.fit.dropped
        try:
            summary = await self._summarizer.summarize(context.summary, dropped)
            current = await self._windows.load(conversation_id)
            if current is None:
                return  # evicted meanwhile: the next turn rebuilds; nothing to fold into
            memory = ConversationMemory.from_window(current).with_summary(
                summary, summarized=dropped
            )
            await self._save(conversation_id, memory.to_window())
            log.info(
                "context_summarized", conversation_id=str(conversation_id), folded=len(dropped)
            )
        except Exception as exc:  # never fails a turn: the plain window is used
            log.warning("context_summary_failed", error_type=type(exc).__name__)
        finally:
            self._summarizing.discard(conversation_id)

    async def _save(self, conversation_id: UUID, window: CachedWindow) -> None:
        try:
            await self._windows.save(conversation_id, window, self._ttl)
        except ServiceUnavailable as exc:
            log.warning("context_cache_save_failed", error=exc.code)

    async def drain(self) -> None:
        """Wait for pending summaries (tests, graceful shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
