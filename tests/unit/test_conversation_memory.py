"""`ConversationMemory`: adding, fitting and folding messages into a summary, the cached
window's round trip, the context string it renders, and when a summary is due."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from domain.conversations.models import MessageStatus
from domain.memory.short_term import (
    CachedWindow,
    ConversationMemory,
    SummaryPolicy,
    TruncationResult,
    message_tokens,
    summary_tokens,
    truncate,
)
from tests.unit.history_builders import (
    assistant,
    tool,
    user,
)

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
