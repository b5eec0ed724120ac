"""When the dropped part of a conversation should be folded into its summary."""

from __future__ import annotations

from dataclasses import dataclass

from domain.memory.truncation import TruncationResult


@dataclass(frozen=True, slots=True)
class SummaryPolicy:
    """Summarize in batches, not on every turn.

    Each summary costs a model call, so dropped messages wait (still in the cached window,
    not shown to the model) until `min_messages` of them are pending or they weigh
    `min_tokens`; then they are all folded in one call. The cached window must hold them
    meanwhile: size the window store with `window_capacity(max_messages)`.
    """

    min_messages: int = 6
    min_tokens: int = 1500

    def __post_init__(self) -> None:
        if self.min_messages < 1 or self.min_tokens < 1:
            raise ValueError("min_messages and min_tokens must be at least 1")

    def should_summarize(self, result: TruncationResult) -> bool:
        """True when the messages `result` dropped (none of them summarized yet) should
        be folded now."""
        if not result.dropped:
            return False
        return len(result.dropped) >= self.min_messages or result.dropped_tokens >= self.min_tokens

    def window_capacity(self, max_messages: int) -> int:
        """How many messages the cached window should keep for a `max_messages` history:
        the history, the pending batch, and one more batch of slack for a turn's tool
        messages, so nothing is trimmed from the cache before it is summarized."""
        return max_messages + 2 * self.min_messages
