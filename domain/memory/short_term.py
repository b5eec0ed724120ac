"""Short-term memory: what the agent sees of a conversation on each turn.

`ConversationMemory` holds the recent messages of one conversation and a running summary
of the older ones, renders them as context, and fits them to a budget with `fit` /
`truncate_to_fit` (rules in `domain.memory.truncation`). It is a plain value over
`Message`: no I/O. The cached copy lives behind `ConversationWindowStore`, the summary is
written by a `Summarizer` (both in `domain.memory.short_term_ports`), and `SummaryPolicy`
decides when.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from domain.conversations.models import Message, MessageStatus, Role
from domain.memory.summary import SummaryPolicy
from domain.memory.tokens import ApproximateTokenCounter, TokenCounter
from domain.memory.truncation import (
    MESSAGE_OVERHEAD_TOKENS,
    SUMMARY_PREFIX,
    TruncationResult,
    message_tokens,
    summary_tokens,
    truncate,
)
from domain.memory.window import CachedWindow

__all__ = [
    "MESSAGE_OVERHEAD_TOKENS",
    "SUMMARY_PREFIX",
    "ApproximateTokenCounter",
    "CachedWindow",
    "ContextFormat",
    "ConversationMemory",
    "SummaryPolicy",
    "TokenCounter",
    "TruncationResult",
    "message_tokens",
    "summary_tokens",
    "truncate",
]

ContextFormat = Literal["simple", "chat", "xml"]


class ConversationMemory:
    """The recent messages of one conversation (oldest first) and a summary of older ones.

    `messages` never include what the summary covers (`summarized_count` of the
    conversation's first messages), so everything `fit` drops is still to be summarized.
    Failed messages are kept in `get_messages()` but are not part of the context.
    """

    def __init__(
        self,
        messages: Iterable[Message] = (),
        *,
        summary: str | None = None,
        summarized_count: int = 0,
        counter: TokenCounter | None = None,
    ) -> None:
        if summarized_count < 0:
            raise ValueError("summarized_count cannot be negative")
        self._messages = list(messages)
        self._summary = summary or None
        self._summarized_count = summarized_count
        self.counter: TokenCounter = counter or ApproximateTokenCounter()

    @classmethod
    def from_window(
        cls, window: CachedWindow, *, counter: TokenCounter | None = None
    ) -> ConversationMemory:
        return cls(
            window.messages,
            summary=window.summary,
            summarized_count=window.summarized_count,
            counter=counter,
        )

    def to_window(self) -> CachedWindow:
        return CachedWindow(list(self._messages), self._summary, self._summarized_count)

    @property
    def summary(self) -> str | None:
        return self._summary

    @property
    def summarized_count(self) -> int:
        return self._summarized_count

    def __len__(self) -> int:
        return len(self._messages)

    def add_message(self, message: Message) -> None:
        self._messages.append(message)

    def get_messages(self) -> list[Message]:
        """Every message, failed ones included, oldest first (a new list)."""
        return list(self._messages)

    def context_messages(self) -> list[Message]:
        """The messages the model may see: all but the failed ones."""
        return [m for m in self._messages if m.status is not MessageStatus.FAILED]

    def count_tokens(self) -> int:
        """The context's estimated size: the summary plus every non-failed message."""
        return summary_tokens(self._summary, self.counter) + sum(
            message_tokens(m, self.counter) for m in self.context_messages()
        )

    def fit(self, max_messages: int = 10, max_tokens: int = 4000) -> TruncationResult:
        """Kept and dropped messages for this budget; the memory itself is not changed."""
        return truncate(
            self._messages,
            max_messages=max_messages,
            max_tokens=max_tokens,
            counter=self.counter,
            summary=self._summary,
        )

    def truncate_to_fit(self, max_messages: int = 10, max_tokens: int = 4000) -> list[Message]:
        """The messages that fit the budget (`fit(...).dropped` has the others)."""
        return self.fit(max_messages, max_tokens).kept

    def with_summary(
        self, summary: str | None, *, summarized: Sequence[Message] = ()
    ) -> ConversationMemory:
        """A copy with a new summary that now covers `summarized` (e.g. `fit(...).dropped`):
        those messages leave the memory and `summarized_count` grows by their number."""
        gone = {m.id for m in summarized}
        return ConversationMemory(
            (m for m in self._messages if m.id not in gone),
            summary=summary,
            summarized_count=self._summarized_count + len(gone),
            counter=self.counter,
        )

    def get_context_string(self, format: ContextFormat = "simple") -> str:
        """The context as text, summary first (as a system note).

        - ``simple``: one ``role: content`` line per message;
        - ``chat``: a JSON array of ``{"role", "content"}`` objects (a str, so every format
          returns the same type; `to_chat_messages()` gives the list itself);
        - ``xml``: one ``<message role="…">…</message>`` element per message (tool results
          also carry ``tool_call_id``), the summary as ``<summary>…</summary>``, content
          XML-escaped; no root element.
        """
        if format == "simple":
            return "\n".join(f"{m['role']}: {m['content']}" for m in self.to_chat_messages())
        if format == "chat":
            return json.dumps(self.to_chat_messages(), ensure_ascii=False)
        if format == "xml":
            return self._xml()
        raise ValueError(f"unknown context format {format!r}: use simple, chat or xml")

    def to_chat_messages(self) -> list[dict[str, str]]:
        """The context as chat messages, the summary first as a system message."""
        chat: list[dict[str, str]] = []
        if self._summary:
            chat.append({"role": Role.SYSTEM.value, "content": SUMMARY_PREFIX + self._summary})
        chat.extend({"role": m.role.value, "content": m.content} for m in self.context_messages())
        return chat

    def _xml(self) -> str:
        lines: list[str] = []
        if self._summary:
            lines.append(f"<summary>{escape(self._summary)}</summary>")
        for m in self.context_messages():
            attributes = f"role={quoteattr(m.role.value)}"
            if m.tool_call_id is not None:
                attributes += f" tool_call_id={quoteattr(m.tool_call_id)}"
            lines.append(f"<message {attributes}>{escape(m.content)}</message>")
        return "\n".join(lines)
