"""A history the client re-sends (`/v1`) keeps a stable prefix too: cut in blocks."""

from __future__ import annotations

import itertools

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    UserPromptPart,
)

from application.agents.client_history import fit
from domain.agents.models import HistoryPolicy


def conversation(turns: int) -> list[ModelMessage]:
    out: list[ModelMessage] = []
    for i in range(turns):
        out.append(ModelRequest(parts=[UserPromptPart(content=f"question {i} " + "w " * 30)]))
        out.append(ModelResponse(parts=[TextPart(content=f"answer {i} " + "w " * 30)]))
    return out


def test_re_sent_histories_extend_the_previous_view_between_block_cuts() -> None:
    policy = HistoryPolicy(max_messages=40, max_tokens=600)
    whole = conversation(30)
    views = [fit(whole[: 2 * n], policy) for n in range(1, 30)]
    cuts = 0
    for before, after in itertools.pairwise(views):
        if after[: len(before)] == before:
            continue
        cuts += 1
        assert len(before) + 2 - len(after) >= 4  # more than one exchange left at once
    assert 1 <= cuts <= 6


def test_the_sliding_layout_keeps_the_newest_exchanges() -> None:
    policy = HistoryPolicy(max_messages=5, max_tokens=100_000, layout="sliding")
    whole = conversation(10)
    view = fit(whole, policy)
    assert len(view) == 4 and view == whole[-4:]
