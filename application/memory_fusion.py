"""Hybrid retrieval's fusion: dense and lexical rankings combined by weighted reciprocal rank.

Reciprocal rank fusion (Cormack et al., 2009) needs no score calibration between a cosine
and a BM25 score, which is why it is the default of hybrid search engines. The weights, the
constant and the pool of candidates each side contributes were chosen by
leave-one-conversation-out on LoCoMo's development split (BENCHMARKS.md, "Memory retrieval
quality"), not by fitting the split as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from domain.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Fusion:
    dense_weight: float = 1.0
    lexical_weight: float = 3.0  # the full-text side sees context and dates: it leads
    k: int = 30  # the RRF constant: larger flattens the advantage of the top ranks
    pool: int = 50  # candidates each side contributes (at least 3k)

    def __post_init__(self) -> None:
        if min(self.dense_weight, self.lexical_weight) < 0 or self.k < 1 or self.pool < 1:
            raise ValidationFailed("Fusion weights must be non-negative, k and pool positive.")


@dataclass(frozen=True, slots=True)
class Fused:
    score: float  # normalised: 1.0 = ranked first by every side that ran
    dense: float | None  # the cosine similarity, when dense retrieval found it
    lexical: float | None  # the full-text rank, when lexical retrieval found it


def fuse(
    dense: Sequence[tuple[UUID, float]],
    lexical: Sequence[tuple[UUID, float]],
    fusion: Fusion,
) -> dict[UUID, Fused]:
    """Weighted RRF over the sides that returned anything, with each side's own score kept."""
    sides = [(s, w) for s, w in ((dense, fusion.dense_weight), (lexical, fusion.lexical_weight))]
    best = sum(w for s, w in sides if s) / (fusion.k + 1) or 1.0
    scores: dict[UUID, float] = {}
    for ranking, weight in sides:
        for position, (ident, _) in enumerate(ranking, start=1):
            scores[ident] = scores.get(ident, 0.0) + weight / (fusion.k + position)
    dense_of, lexical_of = dict(dense), dict(lexical)
    return {i: Fused(s / best, dense_of.get(i), lexical_of.get(i)) for i, s in scores.items()}
