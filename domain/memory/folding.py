"""The history layout local servers can cache: append-only between folds.

A local LLM server (llama.cpp, LM Studio) keeps the previous request's KV cache and
evaluates only what follows the longest common prefix of the new request. A history that
slides by one message per turn changes the prompt near its start, so almost the whole
prompt is evaluated again every turn. Here the history only grows between *folds*:

- while the conversation fits its budget, every message is shown, oldest first, so each
  request extends the previous one (`fit_append_only`);
- when the history would leave less than `reserve` of its budget free after a turn, a
  large block of the oldest messages is folded into the summary at once
  (`plan_fold_ahead`), so that what is left holds at most `keep` of the budget: several
  turns of headroom before the next fold, and the summary changes only at a fold;
- if a turn still does not fit (a long message, a fold not yet applied), the same block
  rule cuts the view at load (`fit_append_only`): never a one-message slide.

The cuts reuse `truncate`'s units (tool calls stay with their results, the window opens
on a user message, the newest user message is pinned).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from domain.conversations.models import Message
from domain.memory.tokens import TokenCounter
from domain.memory.truncation import DEFAULT_COUNTER, TruncationResult, truncate


@dataclass(frozen=True, slots=True)
class FoldPolicy:
    """How much a fold keeps (`keep`) and how much free budget triggers one (`reserve`),
    both as shares of the history's budget (messages and tokens alike)."""

    keep: float = 0.5
    reserve: float = 0.15

    def __post_init__(self) -> None:
        if not 0 < self.keep < 1 or not 0 <= self.reserve < 1:
            raise ValueError("keep must be in (0, 1) and reserve in [0, 1)")
        if self.keep > 1 - self.reserve:
            raise ValueError("keep must leave room below the fold threshold (1 - reserve)")

    def kept_budget(self, max_messages: int, max_tokens: int) -> tuple[int, int]:
        """The budget what is left after a fold must fit."""
        return max(1, math.floor(max_messages * self.keep)), max(
            1, math.floor(max_tokens * self.keep)
        )

    def threshold(self, max_messages: int, max_tokens: int) -> tuple[int, int]:
        """Past this size a history is folded ahead of the next turn."""
        share = 1 - self.reserve
        return max(1, math.floor(max_messages * share)), max(1, math.floor(max_tokens * share))


def fold_to_keep(
    messages: Sequence[Message],
    *,
    max_messages: int,
    max_tokens: int,
    counter: TokenCounter = DEFAULT_COUNTER,
    summary: str | None = None,
    policy: FoldPolicy = FoldPolicy(),
) -> TruncationResult:
    """Cut a block of the oldest messages so that the rest fits `policy.keep` of the budget."""
    keep_messages, keep_tokens = policy.kept_budget(max_messages, max_tokens)
    return truncate(
        messages,
        max_messages=keep_messages,
        max_tokens=keep_tokens,
        counter=counter,
        summary=summary,
    )


def fit_append_only(
    messages: Sequence[Message],
    *,
    max_messages: int,
    max_tokens: int,
    counter: TokenCounter = DEFAULT_COUNTER,
    summary: str | None = None,
    policy: FoldPolicy = FoldPolicy(),
) -> TruncationResult:
    """What the model sees this turn: everything when it fits the budget, else the view
    after a fold (a block of the oldest messages is `dropped`, to be summarized)."""
    whole = truncate(
        messages,
        max_messages=max(1, max_messages),
        max_tokens=max(1, max_tokens),
        counter=counter,
        summary=summary,
    )
    if not whole.truncated:
        return whole
    return fold_to_keep(
        messages,
        max_messages=max_messages,
        max_tokens=max_tokens,
        counter=counter,
        summary=summary,
        policy=policy,
    )


def plan_fold_ahead(
    messages: Sequence[Message],
    *,
    max_messages: int,
    max_tokens: int,
    counter: TokenCounter = DEFAULT_COUNTER,
    summary: str | None = None,
    policy: FoldPolicy = FoldPolicy(),
) -> list[Message]:
    """After a turn: the block of oldest messages to fold now (empty while the history
    leaves at least `policy.reserve` of its budget free)."""
    limit_messages, limit_tokens = policy.threshold(max_messages, max_tokens)
    under = truncate(
        messages,
        max_messages=limit_messages,
        max_tokens=limit_tokens,
        counter=counter,
        summary=summary,
    )
    if not under.truncated:
        return []
    return fold_to_keep(
        messages,
        max_messages=max_messages,
        max_tokens=max_tokens,
        counter=counter,
        summary=summary,
        policy=policy,
    ).dropped


def stable_start(
    sizes: Sequence[tuple[int, int]],
    *,
    max_messages: int,
    max_tokens: int,
    policy: FoldPolicy = FoldPolicy(),
) -> int | None:
    """For a history the server does not keep (a client re-sends it every turn): where
    the shown part starts, as an index into `sizes` (each exchange's messages, tokens).

    Without state there is no fold to remember, so the candidate starts are fixed by what
    precedes them alone: a new block begins once the previous one holds `1 - keep` of the
    budget. The start is the first of these that leaves a history within budget, so it
    moves in jumps of a block, never one exchange per turn, as the history grows. None
    when even the newest block does not fit (the caller then keeps what fits)."""
    block_messages = max(1, math.floor(max_messages * (1 - policy.keep)))
    block_tokens = max(1, math.floor(max_tokens * (1 - policy.keep)))
    starts = [0]
    held_messages = held_tokens = 0
    for i, (messages, tokens) in enumerate(sizes):
        if held_messages >= block_messages or held_tokens >= block_tokens:
            starts.append(i)
            held_messages = held_tokens = 0
        held_messages += messages
        held_tokens += tokens
    for start in starts:
        rest = sizes[start:]
        if sum(m for m, _ in rest) <= max_messages and sum(t for _, t in rest) <= max_tokens:
            return start
    return None
