"""Token estimates: close to real tokenizers per class of text (prose, code, JSON, ids,
CJK), additive, and what a message or summary costs in a budget."""

from __future__ import annotations

import pytest

from domain.memory.short_term import (
    MESSAGE_OVERHEAD_TOKENS,
    ApproximateTokenCounter,
    TokenCounter,
    message_tokens,
    summary_tokens,
)
from tests.unit.history_builders import (
    COUNTER,
    assistant,
    user,
)

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
