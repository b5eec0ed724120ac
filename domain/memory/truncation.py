"""Fitting a conversation into a budget without breaking the model protocol.

A chat model rejects (or silently misreads) a history with a tool result whose call is
gone, a tool call without its result, or a window that opens on the assistant's half of
an exchange. So truncation works on atomic units, never on single messages:

- an assistant message and the `Role.TOOL` messages answering its `tool_calls` (by
  `tool_call_id`) form one unit, kept or dropped together; calls stored inline
  (`Message.tool_calls` with their `result`) travel with their message anyway;
- a tool result whose call is not in the history (an orphan) is always dropped;
- system messages are pinned, and so is the newest user message (the turn being
  answered), even when they alone exceed the budget; the summary is never dropped either
  (keeping it short is the summarizer's job);
- the rest is dropped oldest first until what is left fits `max_messages` (system
  messages not counted) and `max_tokens` (the summary counted), then leading assistant
  units are dropped so the window opens on a user message whenever it keeps one;
- failed messages (turns that never got an answer) are not part of the history at all.

The result is idempotent: truncating the kept window again with the same budget keeps it
whole. Everything dropped is returned, for the summarizer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.conversations.models import Message, MessageStatus, Role
from domain.memory.tokens import ApproximateTokenCounter, TokenCounter

MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators a chat template adds per message
SUMMARY_PREFIX = "Summary of the earlier conversation: "
DEFAULT_COUNTER: TokenCounter = ApproximateTokenCounter()


@dataclass(frozen=True, slots=True)
class TruncationResult:
    """What the model sees (`kept`) and what it no longer does (`dropped`), both oldest first.

    `tokens` counts the kept messages plus the summary; `dropped_tokens` the dropped ones.
    Failed messages are in neither list.
    """

    kept: list[Message] = field(default_factory=list)
    dropped: list[Message] = field(default_factory=list)
    tokens: int = 0
    dropped_tokens: int = 0

    @property
    def truncated(self) -> bool:
        return bool(self.dropped)


def message_tokens(message: Message, counter: TokenCounter = DEFAULT_COUNTER) -> int:
    """A message's cost in the context: its text, its inline tool calls, the template's."""
    tokens = MESSAGE_OVERHEAD_TOKENS + counter.count(message.content)
    for call in message.tool_calls:
        # replayed as a tool-call part and a tool-return part
        tokens += 2 * MESSAGE_OVERHEAD_TOKENS
        tokens += counter.count(_as_text(call.get("name")))
        tokens += counter.count(_as_text(call.get("args")))
        tokens += counter.count(_as_text(call.get("result")))
    return tokens


def summary_tokens(summary: str | None, counter: TokenCounter = DEFAULT_COUNTER) -> int:
    """The summary's cost: it is sent as one more (system) message."""
    if not summary:
        return 0
    return MESSAGE_OVERHEAD_TOKENS + counter.count(SUMMARY_PREFIX + summary)


def truncate(
    messages: Sequence[Message],
    *,
    max_messages: int = 10,
    max_tokens: int = 4000,
    counter: TokenCounter = DEFAULT_COUNTER,
    summary: str | None = None,
) -> TruncationResult:
    """Keep the newest whole units of `messages` that fit the budget (see the module doc)."""
    if max_messages < 1 or max_tokens < 1:
        raise ValueError("max_messages and max_tokens must be at least 1")
    # One pass per step over a window of a few dozen messages: this runs two to four times
    # a chat turn (the window fitted at load, the next fold planned after the reply).
    live = [m for m in messages if m.status is not MessageStatus.FAILED]
    cost = [message_tokens(m, counter) for m in live]
    units = _units(live, cost)

    newest_user = next((u for u in reversed(units) if u.role is Role.USER), None)
    summary_cost = summary_tokens(summary, counter)
    tokens_left = max_tokens - summary_cost
    messages_left = max_messages  # system messages are not counted
    pinned: list[_Unit] = []
    candidates: list[_Unit] = []
    for unit in units:
        if unit.role is Role.SYSTEM:
            pinned.append(unit)
            tokens_left -= unit.tokens
        elif unit is newest_user:
            pinned.append(unit)
            tokens_left -= unit.tokens
            messages_left -= len(unit.positions)
        else:
            candidates.append(unit)
    start = len(candidates)
    while start > 0:
        unit = candidates[start - 1]
        size = len(unit.positions)
        if unit.tokens > tokens_left or size > messages_left:
            break
        tokens_left -= unit.tokens
        messages_left -= size
        start -= 1

    window = sorted(pinned + candidates[start:], key=_first_position)
    if newest_user is not None:
        window = _open_on_user(window)

    kept_flags = [False] * len(live)  # orphan tool results are in no unit: never kept
    for unit in window:
        for i in unit.positions:
            kept_flags[i] = True
    kept: list[Message] = []
    dropped: list[Message] = []
    kept_tokens = 0
    for i, message in enumerate(live):
        if kept_flags[i]:
            kept.append(message)
            kept_tokens += cost[i]
        else:
            dropped.append(message)
    return TruncationResult(
        kept=kept,
        dropped=dropped,
        tokens=kept_tokens + summary_cost,
        dropped_tokens=sum(cost) - kept_tokens,
    )


@dataclass(slots=True)
class _Unit:
    """Messages kept or dropped together; `positions` index the live history, ascending."""

    role: Role
    positions: list[int]
    tokens: int


def _units(live: Sequence[Message], cost: Sequence[int]) -> list[_Unit]:
    """Group the history into units; orphan tool results belong to none (always dropped).

    A tool result joins the most recent assistant message before it that declared its
    call id, so a reused id cannot tie it to an older exchange.
    """
    units: list[_Unit] = []
    owner_of_call: dict[str, _Unit] = {}
    for i, message in enumerate(live):
        if message.role is Role.TOOL:
            owner = owner_of_call.get(message.tool_call_id or "")
            if owner is not None:
                owner.positions.append(i)
                owner.tokens += cost[i]
            continue
        unit = _Unit(message.role, [i], cost[i])
        units.append(unit)
        if message.role is Role.ASSISTANT:
            for call in message.tool_calls:
                call_id = call.get("id")
                if isinstance(call_id, str) and call_id:
                    owner_of_call[call_id] = unit
    return units


def _first_position(unit: _Unit) -> int:
    return unit.positions[0]


def _open_on_user(window: list[_Unit]) -> list[_Unit]:
    """Drop assistant units before the first user message (system messages stay)."""
    first_user = next(i for i, u in enumerate(window) if u.role is Role.USER)
    return [u for i, u in enumerate(window) if i >= first_user or u.role is Role.SYSTEM]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
