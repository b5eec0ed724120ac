from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import ValidationFailed
from domain.memory.long_term import (
    Memory,
    MemoryKind,
    RankingWeights,
    final_score,
    heuristic_importance,
    rank,
    recency,
)

NOW = datetime(2026, 11, 28, tzinfo=UTC)
USER = uuid4()


def mem(content: str, importance: float = 0.5, age_days: float = 0) -> Memory:
    return Memory(USER, content, importance=importance, created_at=NOW - timedelta(days=age_days))


def test_recency_halves_every_half_life() -> None:
    assert recency(NOW, NOW, 30) == 1.0
    assert recency(NOW - timedelta(days=30), NOW, 30) == pytest.approx(0.5)
    assert recency(NOW - timedelta(days=60), NOW, 30) == pytest.approx(0.25)
    assert recency(NOW + timedelta(days=1), NOW, 30) == 1.0  # clock skew never boosts past 1


def test_default_weights_let_similarity_lead() -> None:
    similar = mem("similar", importance=0.1, age_days=90)
    important = mem("important", importance=1.0)
    ranked = rank([(similar, 0.95), (important, 0.5)], NOW, RankingWeights(), k=2)
    assert [r.memory.content for r in ranked] == ["similar", "important"]


def test_importance_and_recency_beat_similarity_when_weighted() -> None:
    similar = mem("similar", importance=0.1, age_days=90)
    important = mem("important", importance=1.0)
    weights = RankingWeights(similarity=0.3, importance=0.5, recency=0.2)
    ranked = rank([(similar, 0.95), (important, 0.5)], NOW, weights, k=2)
    assert [r.memory.content for r in ranked] == ["important", "similar"]


def test_score_formula_and_weight_normalisation() -> None:
    m = mem("x", importance=0.8, age_days=30)
    w = RankingWeights(similarity=7, importance=2, recency=1, half_life_days=30)
    assert final_score(0.6, m, NOW, w) == pytest.approx(0.7 * 0.6 + 0.2 * 0.8 + 0.1 * 0.5)
    with pytest.raises(ValidationFailed):
        RankingWeights(0, 0, 0).normalised()
    with pytest.raises(ValidationFailed):
        RankingWeights(-1, 1, 1).normalised()


def test_last_access_counts_as_recent() -> None:
    old = mem("old", age_days=300)
    touched = Memory(USER, "touched", created_at=NOW - timedelta(days=300), last_accessed_at=NOW)
    assert final_score(0.5, touched, NOW, RankingWeights()) > final_score(
        0.5, old, NOW, RankingWeights()
    )


def test_k_limits_and_ties_prefer_newer() -> None:
    a, b = mem("a", age_days=1), mem("b", age_days=0)
    w = RankingWeights(similarity=1, importance=0, recency=0)
    assert [r.memory.content for r in rank([(a, 0.5), (b, 0.5)], NOW, w, k=1)] == ["b"]


def test_heuristic_importance_is_documented_and_bounded() -> None:
    assert heuristic_importance("we talked about the weather") == 0.3
    assert heuristic_importance("I love green tea", MemoryKind.PREFERENCE) == 0.75
    high = heuristic_importance("Remember: my name is Ada Lovelace, born 1815", MemoryKind.FACT)
    assert high == 0.95
    assert 0 <= heuristic_importance("x" * 100) <= 1


@pytest.mark.parametrize(
    ("content", "importance"), [("", 0.5), ("   ", 0.5), ("x" * 9000, 0.5), ("ok", 1.5)]
)
def test_invalid_memories_are_refused(content: str, importance: float) -> None:
    with pytest.raises(ValidationFailed):
        Memory(USER, content, importance=importance)
