"""The cached window of one conversation: what a turn reads instead of the database."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.conversations.models import Message


@dataclass(frozen=True, slots=True)
class CachedWindow:
    """A conversation's recent messages (oldest first) and the summary of older ones.

    `summarized_count` is how many of the conversation's messages, counted from its
    first, the summary covers; none of those is in `messages`. A rebuild from the
    database skips that many messages, so nothing is both summarized and replayed.
    """

    messages: list[Message] = field(default_factory=list)
    summary: str | None = None
    summarized_count: int = 0
