"""Retrieval quality measures over ranked result ids and each question's evidence ids.

Recall@k is the share of a question's evidence found in the top k (LoCoMo's definition:
evidence can span several turns); MRR is the reciprocal rank of the first evidence hit;
nDCG@k uses binary relevance. Each is averaged over questions by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def recall_at(ranked: Sequence[str], evidence: set[str], k: int) -> float:
    if not evidence:
        raise ValueError("a question needs at least one evidence id")
    return len(evidence.intersection(ranked[:k])) / len(evidence)


def reciprocal_rank(ranked: Sequence[str], evidence: set[str]) -> float:
    for position, ident in enumerate(ranked, start=1):
        if ident in evidence:
            return 1.0 / position
    return 0.0


def ndcg_at(ranked: Sequence[str], evidence: set[str], k: int) -> float:
    gains = sum(1.0 / math.log2(i + 2) for i, ident in enumerate(ranked[:k]) if ident in evidence)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(evidence), k)))
    return gains / ideal if ideal else 0.0


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank; 0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
