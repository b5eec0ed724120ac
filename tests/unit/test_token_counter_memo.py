"""The approximate counter remembers short texts' estimates (a conversation's messages are
counted on every turn) without changing any count."""

from __future__ import annotations

import math

from domain.memory import tokens
from domain.memory.tokens import ApproximateTokenCounter


def test_a_repeated_text_is_looked_up_and_counts_the_same() -> None:
    counter, scaled = ApproximateTokenCounter(), ApproximateTokenCounter(scale=1.5)
    text = "Remembered text, counted on every turn: 42 tokens? Не совсем."
    before = tokens._remembered.cache_info().hits
    first, again = counter.count(text), counter.count(text)
    assert first == again == max(1, math.ceil(tokens._estimate(text)))
    assert tokens._remembered.cache_info().hits > before
    # the scale applies after the lookup: one remembered estimate serves every model
    assert scaled.count(text) == max(1, math.ceil(tokens._estimate(text) * 1.5))


def test_long_texts_are_counted_but_not_remembered() -> None:
    text = "word " * 1000  # over the remembered length
    size = tokens._remembered.cache_info().currsize
    assert ApproximateTokenCounter().count(text) == max(1, math.ceil(tokens._estimate(text)))
    assert tokens._remembered.cache_info().currsize == size
