"""Short-term memory: token estimates, truncation rules (examples and properties), context
rendering, summaries."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.conversations.models import Message, MessageStatus, Role
from domain.memory.short_term import (
    MESSAGE_OVERHEAD_TOKENS,
    ApproximateTokenCounter,
    CachedWindow,
    ConversationMemory,
    SummaryPolicy,
    TokenCounter,
    TruncationResult,
    message_tokens,
    summary_tokens,
    truncate,
)

CONVERSATION = uuid4()
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
COUNTER = ApproximateTokenCounter()


def msg(role: Role, content: str = "hello there", **kw: object) -> Message:
    return Message(conversation_id=CONVERSATION, role=role, content=content, **kw)  # type: ignore[arg-type]


def user(content: str = "hello there", **kw: object) -> Message:
    return msg(Role.USER, content, **kw)


def assistant(
    content: str = "hi, how can I help?", *call_ids: str, inline: bool = False
) -> Message:
    calls = [
        {"id": c, "name": "lookup", "args": {"q": c}, **({"result": "42"} if inline else {})}
        for c in call_ids
    ]
    return msg(Role.ASSISTANT, content, tool_calls=calls)


def tool(call_id: str, content: str = "42") -> Message:
    return msg(Role.TOOL, content, tool_call_id=call_id)


def system(content: str = "You are terse.") -> Message:
    return msg(Role.SYSTEM, content)


def roles(messages: list[Message]) -> list[str]:
    return [m.role.value for m in messages]


# --- token counting --------------------------------------------------------------------

# Real token counts, measured offline with llama.cpp on the vocabularies of Llama 3 (a
# cl100k-style 128k BPE) and SmolLM2 (the embedded profile's model).
SAMPLES: dict[str, tuple[str, int, int]] = {
    "chat": (
        "Hi! Can you help me plan a three-day trip to Lisbon in early May? "
        "I like food, museums and walking.",
        25,
        26,
    ),
    "prose": (
        "A hexagon: a pure core, use-cases around it, adapters on the outside, one "
        "composition root. Data flows one way: entrypoint, use-case, ports, adapter. "
        "Nothing points back out.",
        43,
        45,
    ),
    "code": (
        "def last_messages(messages: Sequence[Message], max_messages: int) -> list[Message]:\n"
        '    """The newest messages."""\n    if max_messages <= 0:\n        return []\n'
        "    window = list(messages[-max_messages:])\n"
        "    while window and window[0].role is not Role.USER:\n        window.pop(0)\n"
        "    return window\n",
        69,
        77,
    ),
    "json": (
        '{"id": "call_1", "name": "search_web", "args": {"query": "weather in Lisbon may", '
        '"k": 3}, "result": [{"title": "Lisbon climate", "url": "https://example.com/lisbon", '
        '"score": 0.87}]}',
        66,
        70,
    ),
    "ids": (
        "3f2b9c1e-8d4a-4b7e-9f61-2c5d8e7a1b03 order 1234567890 total 98765.43 EUR on "
        "2025-03-01 at 14:05:09",
        62,
        81,
    ),
    "german": (
        "Könnten Sie mir bitte erklären, wie die Datenbankmigration funktioniert? "
        "Ich möchte die Änderungen rückgängig machen können.",
        31,
        50,
    ),
    "russian": (
        "Привет! Не могли бы вы объяснить, как работает краткосрочная память агента?",
        24,
        58,
    ),
    "chinese": ("你好！你能帮我解释一下这个代理的短期记忆是如何工作的吗？", 23, 47),
    "emoji": ("Great job!!! 🎉🎉 Let's celebrate 🍾🥂 — see you at 8pm 😀👍", 29, 30),
    "markdown": (
        "## Results\n\n| name | score |\n| --- | --- |\n| alpha | 0.91 |\n| beta | 0.87 |\n\n"
        "- **bold** item\n- `code` item\n",
        41,
        49,
    ),
}
LATIN = {"chat", "prose", "code", "json", "ids", "emoji", "markdown"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_estimate_is_close_to_a_real_tokenizer(name: str) -> None:
    text, llama3, smollm2 = SAMPLES[name]

    estimate = COUNTER.count(text)

    assert 0.9 * llama3 <= estimate <= 1.3 * llama3  # large vocabularies: a little over
    if name in LATIN:
        assert estimate >= 0.8 * smollm2  # small vocabulary: at most 20% under


def test_flat_four_characters_per_token_would_undercount_non_prose() -> None:
    """Why the estimate is per class of text: chars/4 misses JSON, ids and CJK by 1.4-3×."""
    for name in ("json", "ids", "chinese"):
        text, llama3, _ = SAMPLES[name]
        assert len(text) / 4 < 0.7 * llama3 < COUNTER.count(text)


def test_estimate_basics() -> None:
    assert COUNTER.count("") == 0
    assert COUNTER.count(" ") == 1  # anything non-empty costs a token
    assert COUNTER.count("word " * 1000) > COUNTER.count("word " * 100) > COUNTER.count("word")
    text = SAMPLES["prose"][0]
    assert abs(COUNTER.count(text + text) - 2 * COUNTER.count(text)) <= 1  # additive
    assert ApproximateTokenCounter(scale=2.0).count(text) >= 2 * COUNTER.count(text) - 1
    assert isinstance(COUNTER, TokenCounter)
    with pytest.raises(ValueError):
        ApproximateTokenCounter(scale=0)


def test_message_cost_includes_tool_calls_and_overhead() -> None:
    plain = user("hello")
    with_call = assistant("hello", "c1", inline=True)

    assert message_tokens(plain) == MESSAGE_OVERHEAD_TOKENS + COUNTER.count("hello")
    assert message_tokens(with_call) > message_tokens(plain) + 2 * MESSAGE_OVERHEAD_TOKENS
    assert summary_tokens(None) == 0 < summary_tokens("they talked about Lisbon")


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


# --- ConversationMemory ----------------------------------------------------------------


def test_memory_adds_gets_and_counts() -> None:
    memory = ConversationMemory()
    first, reply = user("hi"), assistant("hello")
    memory.add_message(first)
    memory.add_message(reply)
    memory.add_message(user("boom", status=MessageStatus.FAILED))

    assert len(memory) == 3 and memory.get_messages()[:2] == [first, reply]
    assert memory.context_messages() == [first, reply]
    assert memory.count_tokens() == message_tokens(first) + message_tokens(reply)
    memory.get_messages().clear()  # a copy
    assert len(memory) == 3


def test_memory_fit_and_truncate_to_fit() -> None:
    history = [user("one"), assistant("1"), user("two"), assistant("2"), user("three")]
    memory = ConversationMemory(history, summary="earlier: greetings")

    result = memory.fit(max_messages=3, max_tokens=4000)

    assert memory.truncate_to_fit(max_messages=3, max_tokens=4000) == result.kept
    assert result == truncate(history, max_messages=3, summary="earlier: greetings")
    assert memory.get_messages() == history  # fitting does not change the memory
    assert result.tokens == sum(message_tokens(m) for m in result.kept) + summary_tokens(
        "earlier: greetings"
    )


def test_with_summary_folds_the_dropped_messages() -> None:
    history = [user("one"), assistant("1"), user("two"), assistant("2"), user("three")]
    memory = ConversationMemory(history, summarized_count=4)
    result = memory.fit(max_messages=1)

    folded = memory.with_summary("They counted to two.", summarized=result.dropped)

    assert folded.summary == "They counted to two."
    assert folded.get_messages() == result.kept
    assert folded.summarized_count == 4 + len(result.dropped)
    assert memory.summary is None and len(memory) == 5  # the original is unchanged
    assert folded.count_tokens() == result.tokens + summary_tokens("They counted to two.")


def test_window_round_trip() -> None:
    window = CachedWindow([user("a"), assistant("b")], "sum", 7)
    memory = ConversationMemory.from_window(window)

    assert memory.to_window() == window
    assert (memory.summary, memory.summarized_count) == ("sum", 7)


def test_context_string_formats() -> None:
    memory = ConversationMemory(
        [user("what is 1 < 2 & 3 > 2?"), assistant("", "c1"), tool("c1", '"both"')],
        summary="A quiz.",
    )

    simple = memory.get_context_string()
    assert simple.splitlines() == [
        "system: Summary of the earlier conversation: A quiz.",
        "user: what is 1 < 2 & 3 > 2?",
        "assistant: ",
        'tool: "both"',
    ]
    chat = json.loads(memory.get_context_string("chat"))
    assert chat == memory.to_chat_messages()
    assert chat[1] == {"role": "user", "content": "what is 1 < 2 & 3 > 2?"}

    xml = memory.get_context_string("xml")
    assert "&lt;" in xml and "&amp;" in xml
    root = ET.fromstring(f"<context>{xml}</context>")
    assert root[0].tag == "summary" and root[0].text == "A quiz."
    assert [(e.get("role"), e.text or "") for e in root[1:]] == [
        ("user", "what is 1 < 2 & 3 > 2?"),
        ("assistant", ""),
        ("tool", '"both"'),
    ]
    assert root[3].get("tool_call_id") == "c1"
    with pytest.raises(ValueError):
        memory.get_context_string("yaml")  # type: ignore[arg-type]


def test_context_leaves_out_failed_messages_and_empty_summary() -> None:
    memory = ConversationMemory([user("ok"), user("boom", status=MessageStatus.FAILED)], summary="")

    assert memory.summary is None
    assert memory.get_context_string() == "user: ok"


# --- summary policy --------------------------------------------------------------------


def test_summary_policy_batches() -> None:
    policy = SummaryPolicy(min_messages=3, min_tokens=500)
    one = TruncationResult(dropped=[user()], dropped_tokens=10)
    three = TruncationResult(dropped=[user(), assistant(), user()], dropped_tokens=30)
    heavy = TruncationResult(dropped=[user("x " * 600)], dropped_tokens=600)

    assert not policy.should_summarize(TruncationResult())
    assert not policy.should_summarize(one)
    assert policy.should_summarize(three)
    assert policy.should_summarize(heavy)
    assert policy.window_capacity(10) == 16
    with pytest.raises(ValueError):
        SummaryPolicy(min_messages=0)


def test_summary_round_trip_through_a_conversation() -> None:
    """The intended loop: fit, and when the policy says so fold the dropped part."""
    policy = SummaryPolicy(min_messages=2)
    memory = ConversationMemory()
    summaries = 0
    for turn in range(12):
        memory.add_message(user(f"question {turn}"))
        result = memory.fit(max_messages=4)
        if policy.should_summarize(result):
            memory = memory.with_summary(f"summary {summaries}", summarized=result.dropped)
            summaries += 1
        memory.add_message(assistant(f"answer {turn}"))

    assert summaries > 0
    assert memory.summarized_count + len(memory) == 24
    assert len(memory) <= 4 + policy.min_messages + 1
