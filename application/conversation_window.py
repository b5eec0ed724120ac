"""What the agent sees of a conversation each turn: the cached window, fitted to budget.

One cache read per turn (the window) and one write after it (an atomic append). On a miss
the window is rebuilt from the database, which is the truth; if the cache is down the
turn is served from the database too (degraded, logged) and never fails because of it.
When messages fall out of the window they are folded into a running summary by the
summarizer, off the request path; if that fails the plain window is used.

Two layouts (`HistoryPolicy.layout`). `prefix_cache`: the history is append-only between
folds (`domain.memory.folding`); after a turn that leaves too little of the budget free, a
block of the oldest messages leaves the window and is folded into the summary in one go,
before the next turn, so a local server re-evaluates the prompt once per fold rather than
on every turn. Without a summarizer (or when it fails) the block leaves anyway, under the
unchanged summary, so the view stays stable. `sliding`: the newest messages that fit,
summarized in batches (`SummaryPolicy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import structlog

from domain.agents.models import HistoryPolicy
from domain.conversations.models import Message
from domain.conversations.ports import ConversationStore
from domain.errors import ServiceUnavailable
from domain.memory.folding import FoldPolicy, fit_append_only, plan_fold_ahead
from domain.memory.short_term import ConversationMemory, SummaryPolicy, TruncationResult
from domain.memory.short_term_ports import CachedWindow, ConversationWindowStore, Summarizer
from domain.ports import BackgroundTasks

log = structlog.get_logger("mai.context")


@dataclass(frozen=True, slots=True)
class FittedWindow:
    """What the model sees of a conversation this turn: the cached window's messages
    fitted to the agent's budget, and the summary of what fell out of it."""

    messages: list[Message]  # what the model sees, oldest first, within budget
    summary: str | None
    fit: TruncationResult
    window: CachedWindow
    degraded: bool = False  # the cache was unavailable; built from the database
    history: HistoryPolicy | None = None  # the policy it was fitted with


class ConversationWindow:
    """Each conversation's window: `load` fits it to the budget for a turn, `record`
    appends the turn, `summarize_later` folds what fell out into the summary."""

    def __init__(
        self,
        conversations: ConversationStore,
        windows: ConversationWindowStore,
        *,
        tasks: BackgroundTasks,
        ttl_seconds: int = 86_400,
        summary_policy: SummaryPolicy | None = None,
        summarizer: Summarizer | None = None,
        fold_policy: FoldPolicy | None = None,
    ) -> None:
        self._fold = fold_policy or FoldPolicy()
        self._store = conversations
        self._windows = windows
        self._ttl = ttl_seconds
        self._policy = summary_policy or SummaryPolicy()
        self._summarizer = summarizer
        self._tasks = tasks  # summaries are folded off the request path
        self._summarizing: set[UUID] = set()  # one summary at a time per conversation

    def capacity(self, history: HistoryPolicy) -> int:
        return self._policy.window_capacity(history.max_messages)

    def _fit(self, memory: ConversationMemory, history: HistoryPolicy) -> TruncationResult:
        if history.layout == "sliding":
            return memory.fit(history.max_messages, history.max_tokens)
        return fit_append_only(
            memory.get_messages(),
            max_messages=history.max_messages,
            max_tokens=history.max_tokens,
            counter=memory.counter,
            summary=memory.summary,
            policy=self._fold,
        )

    async def load(
        self, user_id: UUID, conversation_id: UUID, history: HistoryPolicy
    ) -> FittedWindow:
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
        fit = self._fit(memory, history)
        return FittedWindow(fit.kept, memory.summary, fit, window, degraded, history)

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

    def summarize_later(
        self, conversation_id: UUID, fitted: FittedWindow, recorded: Sequence[Message] = ()
    ) -> None:
        """Fold what fell out of the window into the summary, after the turn. With the
        `prefix_cache` layout, also fold ahead: `recorded` (the turn just stored) may push
        the history past its fold threshold."""
        history = fitted.history
        if history is None or history.layout == "sliding":
            if self._summarizer is None or not self._policy.should_summarize(fitted.fit):
                return
            dropped = fitted.fit.dropped
        else:
            dropped = fitted.fit.dropped or plan_fold_ahead(
                [*fitted.fit.kept, *recorded],
                max_messages=history.max_messages,
                max_tokens=history.max_tokens,
                summary=fitted.summary,
                policy=self._fold,
            )
            if not dropped:
                return
        if conversation_id in self._summarizing:
            return  # the running one folds these messages; the next turn sees its result
        self._summarizing.add(conversation_id)
        self._tasks.spawn(self._summarize(conversation_id, fitted, dropped), name="summary")

    async def _summarize(
        self, conversation_id: UUID, fitted: FittedWindow, dropped: list[Message]
    ) -> None:
        summary = fitted.summary
        try:
            if self._summarizer is not None:
                try:
                    summary = await self._summarizer.summarize(fitted.summary, dropped)
                except Exception as exc:
                    if fitted.history is None or fitted.history.layout == "sliding":
                        raise
                    # prefix_cache: the block leaves anyway, so the view stays stable
                    log.warning("context_summary_failed", error_type=type(exc).__name__)
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
