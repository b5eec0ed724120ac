"""Contract of `EvalRunStore`: runs round-trip with their case scores, ids are unique,
listing is cursor-paged newest first (optionally by dataset) and `latest` keeps the newest
run of each (kind, dataset, target)."""

from __future__ import annotations

import pytest

from domain.errors import Conflict
from domain.evals.models import CaseScore, EvalKind, EvalRun
from domain.evals.ports import EvalRunStore

from .conftest import at


def run(
    dataset: str = "smoke", target: str = "assistant", score: float = 0.5, t: float = 0
) -> EvalRun:
    return EvalRun(
        EvalKind.AGENT,
        dataset,
        target,
        score,
        cases=[
            CaseScore(
                "greets",
                1.0,
                duration=0.25,
                assertions={"Contains": True},
                scores={"judge": 0.75},
                output="héllo",
            ),
            CaseScore("fails", 0.0, error="MODEL_UNAVAILABLE: down"),
        ],
        metrics={"duration_p50": 0.1},
        model="test",
        prompt_version="1.0.0",
        threshold=0.4,
        details={"file": "evals/smoke.yaml"},
        created_at=at(t),
    )


async def test_a_run_round_trips_with_its_cases(eval_run_store: EvalRunStore) -> None:
    stored = run()
    await eval_run_store.add(stored)

    got = await eval_run_store.get(stored.id)

    assert got == stored
    assert got is not None and got.cases[0].assertions == {"Contains": True}
    assert got.created_at.tzinfo is not None and got.passed


async def test_an_unknown_id_is_none(eval_run_store: EvalRunStore) -> None:
    assert await eval_run_store.get(run().id) is None


async def test_an_id_is_stored_once(eval_run_store: EvalRunStore) -> None:
    stored = run()
    await eval_run_store.add(stored)
    with pytest.raises(Conflict):
        await eval_run_store.add(stored)


async def test_listing_is_newest_first_and_paged(eval_run_store: EvalRunStore) -> None:
    runs = [run(t=i) for i in range(5)]
    for r in runs:
        await eval_run_store.add(r)

    first = await eval_run_store.page(limit=2)
    second = await eval_run_store.page(limit=2, after=first.next_cursor)
    third = await eval_run_store.page(limit=2, after=second.next_cursor)

    seen = [r.id for page in (first, second, third) for r in page.items]
    assert seen == [r.id for r in reversed(runs)]
    assert third.next_cursor is None


async def test_listing_by_dataset(eval_run_store: EvalRunStore) -> None:
    await eval_run_store.add(run("a", t=1))
    b = run("b", t=2)
    await eval_run_store.add(b)

    page = await eval_run_store.page(dataset="b")

    assert [r.id for r in page.items] == [b.id]


async def test_latest_keeps_the_newest_run_per_dataset_and_target(
    eval_run_store: EvalRunStore,
) -> None:
    await eval_run_store.add(run("a", score=0.1, t=1))
    newest_a = run("a", score=0.9, t=5)
    await eval_run_store.add(newest_a)
    await eval_run_store.add(run("a", score=0.2, t=3))
    other_target = run("a", target="companion", score=0.3, t=2)
    await eval_run_store.add(other_target)
    b = run("b", score=0.7, t=4)
    await eval_run_store.add(b)

    latest = await eval_run_store.latest()

    assert {(r.dataset, r.target): r.score for r in latest} == {
        ("a", "assistant"): 0.9,
        ("a", "companion"): 0.3,
        ("b", "assistant"): 0.7,
    }
