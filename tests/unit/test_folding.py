"""The append-only history layout: folds in blocks, never a one-message slide."""

from __future__ import annotations

import itertools
from uuid import uuid4

import pytest

from domain.conversations.models import Message, Role
from domain.memory.folding import FoldPolicy, fit_append_only, plan_fold_ahead, stable_start
from domain.memory.truncation import message_tokens

CID = uuid4()


def chat(turns: int, words: int = 20) -> list[Message]:
    out = []
    for i in range(turns):
        out.append(Message(CID, Role.USER, f"question {i} " + "word " * words))
        out.append(Message(CID, Role.ASSISTANT, f"answer {i} " + "word " * words))
    return out


def test_everything_is_shown_while_it_fits() -> None:
    messages = chat(5)
    fit = fit_append_only(messages, max_messages=40, max_tokens=4000)
    assert fit.kept == messages and not fit.dropped


def test_the_view_only_grows_between_folds() -> None:
    """Turn after turn (the window keeps what is not folded), each view extends the
    previous one, the prefix a server caches, except at a fold, which cuts a block."""
    window: list[Message] = []
    views: list[list[Message]] = []
    for pair in zip(chat(30)[::2], chat(30)[1::2], strict=True):
        user, reply = pair
        views.append(fit_append_only([*window, user], max_messages=40, max_tokens=1500).kept)
        window += [user, reply]
        block = plan_fold_ahead(window, max_messages=40, max_tokens=1500)
        window = window[len(block) :]
    folds = 0
    for before, after in itertools.pairwise(views):
        if after[: len(before)] == before:
            continue  # append-only
        folds += 1
        assert len(before) - len(after) >= 4  # a block, not one message
    assert 1 <= folds <= 30 // 4  # a fold buys several turns of headroom


def test_over_budget_history_is_cut_to_the_kept_share_opening_on_a_user_message() -> None:
    messages = chat(20)
    fit = fit_append_only(messages, max_messages=40, max_tokens=1000)
    assert fit.dropped == messages[: len(fit.dropped)]  # the oldest block
    assert fit.tokens <= 500  # keep = half the budget
    assert fit.kept[0].role is Role.USER
    assert fit.kept[-1] is messages[-1]


def test_fold_ahead_waits_for_the_reserve_then_folds_half() -> None:
    policy = FoldPolicy(keep=0.5, reserve=0.2)
    size = sum(message_tokens(m) for m in chat(1))
    small = chat(3)
    assert plan_fold_ahead(small, max_messages=40, max_tokens=size * 5, policy=policy) == []
    full = chat(5)  # 100 % of the token budget: past the 80 % threshold
    block = plan_fold_ahead(full, max_messages=40, max_tokens=size * 5, policy=policy)
    assert block == full[: len(block)] and len(block) >= 6
    rest = full[len(block) :]
    assert sum(message_tokens(m) for m in rest) <= size * 5 * 0.5


def test_message_count_triggers_a_fold_too() -> None:
    messages = chat(9)  # 18 messages, threshold 17 of 20
    block = plan_fold_ahead(messages, max_messages=20, max_tokens=100_000)
    assert len(messages) - len(block) <= 10


def test_tool_exchanges_fold_whole() -> None:
    messages = chat(3)
    call = Message(
        CID,
        Role.ASSISTANT,
        "",
        tool_calls=[{"id": "c1", "name": "current_time", "args": {}, "result": "12:00"}],
    )
    messages.insert(3, call)
    fit = fit_append_only(messages, max_messages=4, max_tokens=10_000)
    assert fit.kept[0].role is Role.USER
    assert call in fit.kept or call in fit.dropped


@pytest.mark.parametrize(("keep", "reserve"), [(0, 0.1), (1, 0), (0.9, 0.2), (0.5, 1)])
def test_policy_bounds(keep: float, reserve: float) -> None:
    with pytest.raises(ValueError):
        FoldPolicy(keep=keep, reserve=reserve)


def test_a_client_sent_history_is_cut_in_blocks_that_stay_put() -> None:
    """No server state: the start moves in block jumps as the re-sent history grows."""
    sizes = [(2, 50)] * 40  # 40 exchanges of 50 tokens
    starts = [stable_start(sizes[:n], max_messages=1000, max_tokens=600) for n in range(1, 41)]
    assert all(s is not None for s in starts)
    fitted = [s for s in starts if s is not None]
    for n, start in enumerate(fitted, 1):
        assert sum(t for _, t in sizes[start:n]) <= 600  # within budget
    moves = [b - a for a, b in itertools.pairwise(fitted) if b != a]
    assert moves and all(m >= 6 for m in moves)  # a block (300 tokens), not one exchange
    assert len(moves) <= 40 // 6


def test_no_block_fits_gives_none() -> None:
    assert stable_start([(2, 50), (2, 900)], max_messages=100, max_tokens=600) is None
