"""The scheduling rules (domain): what is blocked and why, what may start, how many at
once, which failure stops the run, what a cancelled run never started. Pure functions of
a pipeline and the results recorded so far: no stage runs here."""

from __future__ import annotations

from typing import Any

import pytest

from domain.pipelines import FunctionStage, Pipeline, StageResult, StageStatus
from domain.pipelines.scheduling import (
    StageSkip,
    blocked_stages,
    cancelled_stages,
    concurrency_limit,
    may_start,
    ready_stages,
    stops_run,
)


def noop(x: Any) -> Any:
    return x


def diamond(**kw: Any) -> Pipeline[Any, Any]:
    """a → (b, c) → d, e after c, f joins d and e; layers [a], [b, c], [d, e], [f]."""
    stages = [
        FunctionStage("a", noop),
        FunctionStage("b", noop, depends_on=["a"]),
        FunctionStage("c", noop, depends_on=["a"]),
        FunctionStage("d", noop, depends_on=["b", "c"]),
        FunctionStage("e", noop, depends_on=["c"]),
        FunctionStage("f", noop, depends_on=["d", "e"]),
    ]
    return Pipeline(name="diamond", stages=stages, output="f", **kw)


def results(**statuses: StageStatus) -> dict[str, StageResult]:
    return {name: StageResult(name, status) for name, status in statuses.items()}


OK, FAILED, SKIPPED = StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.SKIPPED


def test_sequential_runs_one_at_a_time_the_others_up_to_max_concurrency() -> None:
    assert concurrency_limit(diamond(mode="sequential", max_concurrency=8)) == 1
    assert concurrency_limit(diamond(mode="parallel", max_concurrency=3)) == 3
    assert concurrency_limit(diamond(mode="dag", max_concurrency=5)) == 5


@pytest.mark.parametrize(
    ("strategy", "status", "stops"),
    [
        ("fail_fast", FAILED, True),
        ("retry", FAILED, True),
        ("continue", FAILED, False),
        ("fail_fast", OK, False),
        ("fail_fast", StageStatus.CANCELLED, False),
        ("fail_fast", SKIPPED, False),
    ],
)
def test_only_a_failure_stops_the_run_and_not_under_continue(
    strategy: str, status: StageStatus, stops: bool
) -> None:
    pipeline = diamond(error_strategy=strategy)
    assert stops_run(pipeline, StageResult("b", status)) is stops


def test_once_the_run_stopped_every_pending_stage_is_aborted() -> None:
    skips = blocked_stages(diamond(), ["c", "d", "e"], results(a=OK, b=FAILED), failed="b")
    assert [s.stage for s in skips] == ["c", "d", "e"]
    assert {s.code for s in skips} == {"RUN_ABORTED"}
    assert skips[0].details == {"failed_stage": "b"}
    assert skips[0].message == "Not run: stage 'b' failed and the run stopped."


def test_a_failed_dependency_blocks_its_dependents_transitively_in_one_pass() -> None:
    pipeline = diamond(error_strategy="continue")
    pending = ["b", "c", "d", "e", "f"]
    skips = blocked_stages(pipeline, pending, results(a=FAILED), failed=None)
    assert [(s.stage, s.details["dependency"]) for s in skips] == [
        ("b", "a"), ("c", "a"), ("d", "b"), ("e", "c"), ("f", "d")
    ]  # fmt: skip
    assert {s.code for s in skips} == {"DEPENDENCY_FAILED"}
    assert skips[0].message == "Not run: dependency 'a' failed."
    assert skips[2].message == "Not run: dependency 'b' skipped."


def test_a_dependency_still_running_blocks_nothing_and_the_first_bad_one_is_named() -> None:
    pipeline = diamond(error_strategy="continue")
    assert blocked_stages(pipeline, ["d", "e"], results(a=OK, c=OK), failed=None) == []
    skips = blocked_stages(pipeline, ["d"], results(a=OK, b=SKIPPED, c=FAILED), failed=None)
    assert [(s.stage, s.details) for s in skips] == [("d", {"dependency": "b"})]


def test_a_skip_carries_the_error_body_of_its_result() -> None:
    skip = StageSkip("d", "DEPENDENCY_FAILED", "Not run.", {"dependency": "b"})
    result = skip.result()
    assert (result.stage, result.status, result.attempts) == ("d", SKIPPED, 0)
    assert result.error == {
        "code": "DEPENDENCY_FAILED",
        "message": "Not run.",
        "details": {"dependency": "b"},
        "retryable": False,
    }


def test_a_stage_may_start_once_its_dependencies_have_outputs() -> None:
    pipeline = diamond()
    assert may_start(pipeline, "a", {})
    assert not may_start(pipeline, "b", {})
    assert may_start(pipeline, "b", results(a=OK))
    assert may_start(pipeline, "b", results(a=StageStatus.CACHED))
    assert not may_start(pipeline, "d", results(a=OK, b=OK, c=FAILED))


def test_dag_starts_early_but_parallel_and_waves_wait_for_earlier_layers() -> None:
    done = results(a=OK, c=OK)  # b still running: layer [b, c] unfinished
    assert may_start(diamond(mode="dag"), "e", done)
    assert not may_start(diamond(mode="parallel"), "e", done)
    assert not may_start(diamond(mode="dag"), "e", done, waves=True)
    assert may_start(diamond(mode="dag"), "e", {**done, **results(b=OK)}, waves=True)


def test_ready_stages_fill_the_free_slots_in_topological_order() -> None:
    pipeline = diamond(max_concurrency=2)
    pending = ["b", "c", "d", "e"]
    assert ready_stages(pipeline, pending, results(a=OK), running=0) == ["b", "c"]
    assert ready_stages(pipeline, pending, results(a=OK), running=1) == ["b"]
    assert ready_stages(pipeline, pending, results(a=OK), running=2) == []
    sequential = diamond(mode="sequential", max_concurrency=4)
    assert ready_stages(sequential, pending, results(a=OK), running=0) == ["b"]


def test_in_waves_nothing_starts_while_a_stage_runs() -> None:
    pipeline = diamond(max_concurrency=4)
    assert ready_stages(pipeline, ["c", "d", "e"], results(a=OK), running=1) == ["c"]
    assert ready_stages(pipeline, ["c", "d", "e"], results(a=OK), running=1, waves=True) == []
    assert ready_stages(pipeline, ["c"], results(a=OK, b=OK), running=0, waves=True) == ["c"]


def test_a_cancelled_run_skips_what_it_never_started_in_order() -> None:
    skips = cancelled_stages(diamond(), results(a=OK, c=StageStatus.CANCELLED))
    assert [s.stage for s in skips] == ["b", "d", "e", "f"]
    assert {(s.code, s.message) for s in skips} == {
        ("RUN_CANCELLED", "Not run: the run was cancelled.")
    }
    assert skips[0].error["details"] == {}
