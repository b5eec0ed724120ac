"""Truncating a history to a budget: examples of each rule (oldest first, tool results with
their call, system and newest user kept, failed messages left out, the summary counted), and
the same rules as properties over random histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.conversations.models import Message, MessageStatus, Role
from domain.memory.short_term import (
    TruncationResult,
    message_tokens,
    summary_tokens,
    truncate,
)
from tests.unit.history_builders import (
    T0,
    assistant,
    msg,
    roles,
    system,
    tool,
    user,
)

# --- truncation: examples --------------------------------------------------------------


def test_everything_fits_nothing_dropped() -> None:
    history = [system(), user(), assistant(), user("and now?")]

    result = truncate(history, max_messages=10, max_tokens=4000)

    assert result.kept == history and result.dropped == [] and not result.truncated
    assert result.tokens == sum(message_tokens(m) for m in history)


def test_drops_oldest_first_and_opens_on_a_user_message() -> None:
    history = [user("one"), assistant("1"), user("two"), assistant("2"), user("three")]

    result = truncate(history, max_messages=4, max_tokens=4000)

    # the 4 newest start with an assistant reply: it goes too
    assert [m.content for m in result.kept] == ["two", "2", "three"]
    assert [m.content for m in result.dropped] == ["one", "1"]


def test_tool_results_stay_with_their_call() -> None:
    history = [
        user("weather?"),
        assistant("", "c1", "c2"),
        tool("c1", "sunny"),
        tool("c2", "20C"),
        assistant("Sunny, 20C."),
        user("thanks"),
    ]

    # room for 3 messages: the 3-message tool group cannot be split, so it goes whole
    result = truncate(history, max_messages=4, max_tokens=4000)

    assert roles(result.kept) == ["user"]
    assert result.kept[0].content == "thanks"
    assert roles(truncate(history, max_messages=5, max_tokens=4000).kept) == ["user"]
    assert roles(truncate(history, max_messages=6, max_tokens=4000).kept) == roles(history)


def test_orphan_tool_results_are_dropped() -> None:
    history = [tool("gone", "stale"), user("hi"), assistant("", "c1"), tool("zzz"), tool("c1")]

    result = truncate(history, max_messages=10, max_tokens=4000)

    assert [m.tool_call_id for m in result.kept if m.role is Role.TOOL] == ["c1"]
    assert {m.tool_call_id for m in result.dropped} == {"gone", "zzz"}


def test_inline_tool_calls_need_no_tool_messages() -> None:
    history = [user("weather?"), assistant("Sunny.", "c1", inline=True), user("thanks")]

    assert truncate(history, max_messages=3, max_tokens=4000).kept == history


def test_system_and_newest_user_are_kept_even_over_budget() -> None:
    big = user("word " * 2000)
    history = [system("rules"), user("old"), assistant("old reply"), big, assistant("answer")]

    result = truncate(history, max_messages=10, max_tokens=50)

    assert result.kept == [history[0], big]
    assert result.tokens > 50  # the one allowed overrun: nothing left to drop
    assert [m.content for m in result.dropped] == ["old", "old reply", "answer"]


def test_system_messages_are_never_dropped_nor_counted_as_messages() -> None:
    history = [system("a"), user("one"), assistant("1"), system("b"), user("two")]

    result = truncate(history, max_messages=1, max_tokens=4000)

    assert [m.content for m in result.kept] == ["a", "b", "two"]


def test_failed_messages_are_not_history() -> None:
    failed = user("boom", status=MessageStatus.FAILED)
    history = [user("one"), assistant("1"), failed, user("two")]

    result = truncate(history, max_messages=10, max_tokens=4000)

    assert failed not in result.kept and failed not in result.dropped
    assert [m.content for m in result.kept] == ["one", "1", "two"]


def test_summary_counts_against_the_budget() -> None:
    history = [user("one"), assistant("1"), user("two")]
    full = truncate(history, max_messages=10, max_tokens=4000).tokens

    budget = full + summary_tokens("a short summary") - 1

    with_summary = truncate(history, max_messages=10, max_tokens=budget, summary="a short summary")

    assert with_summary.truncated
    assert with_summary.tokens <= budget
    assert truncate(history, max_tokens=budget + 1, summary="a short summary").dropped == []


def test_budgets_must_be_positive() -> None:
    with pytest.raises(ValueError):
        truncate([user()], max_messages=0)
    with pytest.raises(ValueError):
        truncate([user()], max_tokens=0)


def test_an_empty_history() -> None:
    assert truncate([]) == TruncationResult()


# --- truncation: properties ------------------------------------------------------------


@dataclass
class History:
    messages: list[Message]
    declared_by: dict[str, UUID]  # call id -> the assistant message declaring it


texts = st.text(alphabet="abc xyz,.\n0123é中🎉", max_size=120)


@st.composite
def histories(draw: st.DrawFn) -> History:
    messages: list[Message] = []
    declared_by: dict[str, UUID] = {}
    call_counter = 0
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["user", "user", "assistant", "tools", "system", "orphan"]))
        failed = draw(st.integers(0, 9)) == 0
        status = MessageStatus.FAILED if failed else MessageStatus.OK
        if kind == "user":
            messages.append(user(draw(texts), status=status))
        elif kind == "system":
            messages.append(msg(Role.SYSTEM, draw(texts)))
        elif kind == "orphan":
            messages.append(tool(f"orphan-{uuid4()}", draw(texts)))
        elif kind == "assistant":
            messages.append(msg(Role.ASSISTANT, draw(texts), status=status))
        else:
            calls = draw(st.integers(1, 3))
            ids = [f"call-{call_counter + i}" for i in range(calls)]
            call_counter += calls
            inline = draw(st.booleans())
            head = assistant(draw(texts), *ids, inline=inline)
            head.status = status
            messages.append(head)
            for call_id in ids:
                declared_by[call_id] = head.id
                if not inline:
                    messages.append(tool(call_id, draw(texts)))
    for i, m in enumerate(messages):
        m.created_at = T0 + timedelta(seconds=i)
    return History(messages, declared_by)


budgets = st.tuples(st.integers(1, 30), st.integers(1, 1500))
summaries = st.none() | st.text(alphabet="summary of talk ", min_size=1, max_size=300)


def is_subsequence(part: list[Message], whole: list[Message]) -> bool:
    it = iter(whole)
    return all(any(p is w for w in it) for p in part)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), budgets, summaries)
def test_truncation_properties(
    history: History, budget: tuple[int, int], summary: str | None
) -> None:
    max_messages, max_tokens = budget
    live = [m for m in history.messages if m.status is not MessageStatus.FAILED]
    users = [m for m in live if m.role is Role.USER]
    newest_user = users[-1] if users else None

    result = truncate(
        history.messages, max_messages=max_messages, max_tokens=max_tokens, summary=summary
    )
    kept, dropped = result.kept, result.dropped
    kept_ids = {m.id for m in kept}

    # a partition of the live history, order preserved
    assert is_subsequence(kept, live) and is_subsequence(dropped, live)
    assert len(kept) + len(dropped) == len(live)
    assert kept_ids.isdisjoint(m.id for m in dropped)

    # tool results and their calls: kept together or dropped together, never orphaned
    for m in kept:
        if m.role is Role.TOOL:
            owner = history.declared_by.get(m.tool_call_id or "")
            assert owner in kept_ids
            assert [k.id for k in kept].index(owner) < kept.index(m)
    for m in kept:
        if m.role is Role.ASSISTANT:
            answers = [
                t
                for t in live
                if t.role is Role.TOOL and history.declared_by.get(t.tool_call_id or "") == m.id
            ]
            assert all(t.id in kept_ids for t in answers)

    # pinned: every system message, the newest user message
    assert all(m.id in kept_ids for m in live if m.role is Role.SYSTEM)
    if newest_user is not None:
        assert newest_user.id in kept_ids

    # the budget holds, unless only system + the newest user message (+ summary) are left
    conversational = [m for m in kept if m.role is not Role.SYSTEM]
    assert result.tokens == sum(message_tokens(m) for m in kept) + summary_tokens(summary)
    only_pinned = conversational == ([newest_user] if newest_user else [])
    assert result.tokens <= max_tokens or only_pinned
    assert len(conversational) <= max_messages

    # the window opens on a user message whenever it keeps one
    if newest_user is not None:
        assert conversational[0].role is Role.USER

    # dropping is oldest first (among the messages that head units)
    heads = (Role.USER, Role.ASSISTANT)
    kept_heads = [live.index(m) for m in kept if m.role in heads and m is not newest_user]
    dropped_heads = [live.index(m) for m in dropped if m.role in heads]
    if kept_heads and dropped_heads:
        assert max(dropped_heads) < min(kept_heads)

    event(f"truncated={result.truncated}")
    event(f"over budget, pinned only={result.tokens > max_tokens}")
    event(f"kept a tool result={any(m.role is Role.TOOL for m in kept)}")

    # idempotent: the kept window fits as it is
    again = truncate(kept, max_messages=max_messages, max_tokens=max_tokens, summary=summary)
    assert again.kept == kept and again.dropped == []


@settings(max_examples=200, deadline=None)
@given(histories())
def test_a_history_that_fits_loses_only_what_would_break_the_protocol(history: History) -> None:
    result = truncate(history.messages, max_messages=1000, max_tokens=10**9)

    for m in result.dropped:
        orphan = m.role is Role.TOOL and history.declared_by.get(m.tool_call_id or "") not in {
            k.id for k in result.kept
        }
        before_first_user = m.role is Role.ASSISTANT and not any(
            k.role is Role.USER and k.created_at < m.created_at for k in result.kept
        )
        assert orphan or before_first_user
