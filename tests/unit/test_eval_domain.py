"""The retrieval measures and the eval run rules, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from domain.evals.models import MAX_OUTPUT_CHARS, CaseScore, EvalKind, EvalRun
from domain.evals.retrieval import ndcg_at, percentile, recall_at, reciprocal_rank


def test_recall_is_the_share_of_evidence_in_the_top_k() -> None:
    ranked = ["a", "x", "b", "y"]
    assert recall_at(ranked, {"a", "b"}, 1) == 0.5
    assert recall_at(ranked, {"a", "b"}, 3) == 1.0
    assert recall_at(ranked, {"z"}, 4) == 0.0
    with pytest.raises(ValueError):
        recall_at(ranked, set(), 4)


def test_reciprocal_rank_is_one_over_the_first_hit() -> None:
    assert reciprocal_rank(["x", "y", "a"], {"a", "y"}) == 0.5
    assert reciprocal_rank(["x"], {"a"}) == 0.0


def test_ndcg_rewards_hits_near_the_top() -> None:
    assert ndcg_at(["a", "b"], {"a", "b"}, 10) == 1.0
    second = ndcg_at(["x", "a"], {"a"}, 10)
    assert second == pytest.approx(1 / math.log2(3))
    assert ndcg_at(["x", "y"], {"a"}, 10) == 0.0


def test_percentile_is_nearest_rank() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 95) == 95.0
    assert percentile([], 95) == 0.0


def test_a_run_passes_at_or_above_its_threshold() -> None:
    assert EvalRun(EvalKind.AGENT, "d", "a", 0.5, threshold=0.5).passed
    assert not EvalRun(EvalKind.AGENT, "d", "a", 0.49, threshold=0.5).passed
    assert EvalRun(EvalKind.MEMORY, "d", "hybrid", 0.0).passed  # no threshold, no gate


def test_a_case_score_is_within_0_and_1_and_keeps_a_short_output() -> None:
    with pytest.raises(ValueError):
        CaseScore("c", 1.5)
    long = CaseScore("c", 1.0, output="x" * 2000)
    assert long.output is not None and len(long.output) == MAX_OUTPUT_CHARS
