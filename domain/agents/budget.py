"""A turn's token budget against the model's real context window.

The history policy (`max_tokens`) says how much history an agent wants; the model's
context window says how much a request can hold. A request is the instructions and tool
definitions, the history, the new message (with any recalled memories), and room for the
reply. `ContextBudget` clamps the history to what is left, and refuses a message that
cannot fit even with no history at all (a 413, not a server-side truncation or a 400
from the LLM server).

Token counts here are estimates (`domain.memory.tokens`), so `margin` keeps a share of
the window free for the estimate's error (±10-20% against real tokenizers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.errors import PayloadTooLarge

DEFAULT_REPLY_TOKENS = 512  # reserved for the reply when the agent sets no max_tokens
TOOL_DEFINITION_TOKENS = 80  # a tool's name, description and JSON schema, roughly
# Room kept for the next message whatever its size, so the history budget (and with it
# the fold points the prefix cache depends on) stays the same from turn to turn.
MESSAGE_ALLOWANCE_TOKENS = 256


@dataclass(frozen=True, slots=True)
class ContextBudget:
    context_tokens: int  # the model's window, as the server reports it (or configured)
    reply_tokens: int = DEFAULT_REPLY_TOKENS
    margin: float = 0.1

    def __post_init__(self) -> None:
        if self.context_tokens < 1 or self.reply_tokens < 0 or not 0 <= self.margin < 1:
            raise ValueError("context_tokens >= 1, reply_tokens >= 0, 0 <= margin < 1")

    @property
    def usable(self) -> int:
        """The window less the reply and the estimate's margin."""
        return math.floor(self.context_tokens * (1 - self.margin)) - self.reply_tokens

    def check_message(self, message_tokens: int, fixed_tokens: int) -> None:
        """Refuse a message that cannot fit next to the instructions and the reply."""
        if fixed_tokens + message_tokens > self.usable:
            limit = max(0, self.usable - fixed_tokens)
            raise PayloadTooLarge(
                f"The message is about {message_tokens} tokens; with the agent's "
                f"instructions and room for the reply, this model's context "
                f"({self.context_tokens} tokens) leaves {limit} for it.",
                details={
                    "field": "message",
                    "tokens": message_tokens,
                    "limit_tokens": limit,
                    "context_tokens": self.context_tokens,
                },
            )

    def history_tokens(self, wanted: int, fixed_tokens: int, message_tokens: int) -> int:
        """The history budget: what the policy wants, at most what is left (>= 1). The
        same every turn unless a message is longer than `MESSAGE_ALLOWANCE_TOKENS`."""
        room = max(message_tokens, MESSAGE_ALLOWANCE_TOKENS)
        return max(1, min(wanted, self.usable - fixed_tokens - room))
