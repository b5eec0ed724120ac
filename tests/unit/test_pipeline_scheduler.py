"""The one scheduler: modes (with proof of overlap and bounds), DAG early start, error
strategies and cancellation, on the in-process executor; and the waves a step runner
that replays by position gets (what DBOS runs), on a scripted step runner."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest

from application.pipelines.scheduler import schedule
from domain.pipelines import (
    FunctionStage,
    Pipeline,
    PipelineRun,
    RunStatus,
    StageEvent,
    StageStatus,
)
from tests.pipeline_fakes import USER, Probe, ScriptedSteps, executor


def fan(probe: Probe, n: int = 3, **kw: Any) -> Pipeline[Any, Any]:
    """n independent stages joined by one."""
    names = [f"w{i}" for i in range(n)]
    stages = [probe.stage(name, delay=0.05) for name in names]
    return Pipeline(name="fan", stages=[*stages, probe.stage("join", *names)], output="join", **kw)


async def test_sequential_runs_one_stage_at_a_time_in_order() -> None:
    probe = Probe()
    run = await executor().run(fan(probe, mode="sequential"), "x", user_id=USER)
    assert run.status is RunStatus.SUCCEEDED and probe.max_active == 1
    starts = sorted(probe.spans, key=lambda n: probe.spans[n][0])
    assert starts == ["w0", "w1", "w2", "join"]


async def test_a_join_receives_a_dict_and_the_run_returns_the_output_stage() -> None:
    run = await executor().run(fan(Probe(), mode="sequential"), "x", user_id=USER)
    assert run.output == "join({'w0': 'w0(x)', 'w1': 'w1(x)', 'w2': 'w2(x)'})"
    assert [r.status for r in run.stages.values()] == [StageStatus.SUCCEEDED] * 4
    assert all(r.attempts == 1 and r.duration > 0 for r in run.stages.values())


async def test_parallel_stages_overlap() -> None:
    probe = Probe()
    run = await executor().run(fan(probe, mode="parallel", max_concurrency=8), "x", user_id=USER)
    assert run.status is RunStatus.SUCCEEDED and probe.max_active == 3
    latest_start = max(probe.spans[n][0] for n in ("w0", "w1", "w2"))
    earliest_end = min(probe.spans[n][1] for n in ("w0", "w1", "w2"))
    assert latest_start < earliest_end


@pytest.mark.parametrize("mode", ["parallel", "dag"])
async def test_concurrency_is_bounded(mode: str) -> None:
    probe = Probe()
    pipeline = fan(probe, n=6, mode=mode, max_concurrency=2)
    run = await executor().run(pipeline, "x", user_id=USER)
    assert run.status is RunStatus.SUCCEEDED and probe.max_active == 2


def early_start(probe: Probe, mode: str) -> Pipeline[Any, Any]:
    stages = [
        probe.stage("fast", delay=0.0),
        probe.stage("slow", delay=0.2),
        probe.stage("after_fast", "fast", delay=0.0),
        probe.stage("join", "after_fast", "slow", delay=0.0),
    ]
    return Pipeline(name="early", stages=stages, output="join", mode=mode)


async def test_dag_starts_a_stage_as_soon_as_its_dependencies_are_done() -> None:
    probe = Probe()
    run = await executor().run(early_start(probe, "dag"), "x", user_id=USER)
    assert run.status is RunStatus.SUCCEEDED
    assert probe.spans["after_fast"][1] < probe.spans["slow"][1]  # done while slow runs


async def test_parallel_waits_for_the_whole_layer() -> None:
    probe = Probe()
    await executor().run(early_start(probe, "parallel"), "x", user_id=USER)
    assert probe.spans["after_fast"][0] >= probe.spans["slow"][1]


def branches(probe: Probe, strategy: str, **kw: Any) -> Pipeline[Any, Any]:
    """bad fails quickly; slow runs meanwhile; ok → ok_next is an independent branch."""
    stages = [
        probe.stage("bad", delay=0.01, fail=True, **kw),
        probe.stage("slow", delay=0.3),
        probe.stage("ok", delay=0.0),
        probe.stage("after_bad", "bad"),
        probe.stage("ok_next", "ok"),
        probe.stage("join", "after_bad", "slow", "ok_next"),
    ]
    return Pipeline(
        name="branches", stages=stages, output="join", error_strategy=strategy, max_concurrency=8
    )


async def test_fail_fast_cancels_running_stages_and_skips_the_rest() -> None:
    probe = Probe()
    run = await executor().run(branches(probe, "fail_fast"), "x", user_id=USER)
    status = {name: r.status for name, r in run.stages.items()}
    assert run.status is RunStatus.FAILED
    assert status["bad"] is StageStatus.FAILED and status["slow"] is StageStatus.CANCELLED
    assert status["after_bad"] is StageStatus.SKIPPED and status["join"] is StageStatus.SKIPPED
    assert status["ok"] is StageStatus.SUCCEEDED  # finished before the failure
    assert probe.spans["slow"][1] - probe.spans["slow"][0] < 0.25  # really interrupted
    assert run.error is not None and run.error["details"]["failed_stages"] == ["bad"]
    bad = run.stages["bad"].error
    assert bad is not None and bad["code"] == "STAGE_FAILED" and bad["message"] == "bad broke"
    assert bad["details"] == {"type": "RuntimeError", "stage": "bad"}
    aborted = run.stages["join"].error
    assert aborted is not None and aborted["code"] == "RUN_ABORTED"
    assert aborted["details"] == {"failed_stage": "bad"}


async def test_continue_skips_only_dependents_and_keeps_finished_outputs() -> None:
    probe = Probe()
    run = await executor().run(branches(probe, "continue"), "x", user_id=USER)
    status = {name: r.status for name, r in run.stages.items()}
    assert run.status is RunStatus.FAILED and run.output is None
    assert status["bad"] is StageStatus.FAILED
    assert status["after_bad"] is StageStatus.SKIPPED and status["join"] is StageStatus.SKIPPED
    assert status["slow"] is StageStatus.SUCCEEDED and status["ok_next"] is StageStatus.SUCCEEDED
    assert run.stages["ok_next"].output == "ok_next(ok(x))"
    skipped = run.stages["after_bad"].error
    assert skipped is not None and skipped["code"] == "DEPENDENCY_FAILED"
    assert skipped["details"] == {"dependency": "bad"}
    assert run.stages["join"].error["details"] == {"dependency": "after_bad"}  # type: ignore[index]


async def test_cancelling_the_run_cancels_its_stages() -> None:
    probe = Probe()
    events: list[StageEvent] = []
    pipeline = Pipeline(
        name="long", stages=[probe.stage("a", delay=5), probe.stage("b", "a")], output="b"
    )
    task = asyncio.create_task(executor().run(pipeline, 0, user_id=USER, on_event=events.append))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(e.stage, e.status.value) for e in events][-2:] == [
        ("a", "cancelled"), ("b", "skipped")
    ]  # fmt: skip
    assert events[-1].error is not None and events[-1].error["code"] == "RUN_CANCELLED"
    assert probe.active == 0


async def test_sync_functions_and_the_run_record() -> None:
    double = FunctionStage("double", lambda x: x * 2)
    inc = FunctionStage("inc", lambda x: x + 1, depends_on=("double",))
    pipeline = Pipeline(name="sync", stages=[double, inc], output="inc", input_type=int)
    run_id = uuid4()
    run = await executor().run(pipeline, "20", user_id=USER, run_id=run_id)
    assert (run.id, run.user_id, run.input, run.output) == (run_id, USER, 20, 41)
    assert run.started_at and run.finished_at and run.duration is not None


# --- waves: what a step runner that replays by position gets ---------------------------


def noop(x: Any) -> Any:
    return x


def scripted(mode: str = "dag", **kw: Any) -> Pipeline[Any, Any]:
    """fast and slow side by side; after_fast needs fast; join needs both branches."""
    stages = [
        FunctionStage("fast", noop),
        FunctionStage("slow", noop),
        FunctionStage("after_fast", noop, depends_on=["fast"]),
        FunctionStage("join", noop, depends_on=["after_fast", "slow"]),
    ]
    return Pipeline(name="scripted", stages=stages, output="join", mode=mode, **kw)


async def settle() -> None:
    """Let the scheduler react to what just finished (a few loop turns, no clock)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def drive(pipeline: Pipeline[Any, Any], steps: ScriptedSteps, order: list[str]) -> None:
    """Schedule the run, finishing stages in `order` (each once it has started)."""
    job = asyncio.create_task(schedule(pipeline, steps.run, steps))
    try:
        for stage in order:
            for _ in range(1000):
                if f"stage:{stage}" in steps.log:
                    break
                await asyncio.sleep(0)
            else:
                raise AssertionError(f"{stage} never started; steps: {steps.log}")
            steps.release(stage)
            await settle()  # the scheduler reacts before the next one finishes
        await job
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)


def new_run(pipeline: Pipeline[Any, Any]) -> PipelineRun:
    return PipelineRun(pipeline.name, USER, "x")


@pytest.mark.parametrize("first", ["fast", "slow"])
async def test_in_waves_the_step_order_does_not_depend_on_timing(first: str) -> None:
    pipeline = scripted()
    steps = ScriptedSteps(new_run(pipeline), ordered_replay=True)
    other = "slow" if first == "fast" else "fast"
    await drive(pipeline, steps, [first, other, "after_fast", "join"])
    assert steps.started() == ["stage:fast", "stage:slow", "stage:after_fast", "stage:join"]
    assert steps.log.index("stage:after_fast") > steps.log.index("done:slow")
    assert [r.status for r in steps.run.stages.values()] == [StageStatus.SUCCEEDED] * 4


async def test_without_waves_dag_starts_a_stage_while_another_layer_runs() -> None:
    pipeline = scripted()
    steps = ScriptedSteps(new_run(pipeline), ordered_replay=False)
    await drive(pipeline, steps, ["fast", "after_fast", "slow", "join"])
    assert steps.log.index("done:after_fast") < steps.log.index("done:slow")


@pytest.mark.parametrize(("waves", "skipped_at_once"), [(True, False), (False, True)])
async def test_in_waves_skips_wait_for_the_wave_to_end(waves: bool, skipped_at_once: bool) -> None:
    pipeline = scripted(error_strategy="continue")
    steps = ScriptedSteps(
        new_run(pipeline), ordered_replay=waves, outcomes={"fast": StageStatus.FAILED}
    )
    job = asyncio.create_task(schedule(pipeline, steps.run, steps))
    await settle()
    steps.release("fast")
    await settle()
    assert ("skip:after_fast,join" in steps.log) is skipped_at_once
    steps.release("slow")
    await job
    assert steps.started() == ["stage:fast", "stage:slow", "skip:after_fast,join"]


async def test_in_waves_a_failure_cancels_the_wave_and_aborts_the_rest() -> None:
    pipeline = scripted(mode="parallel")
    steps = ScriptedSteps(
        new_run(pipeline), ordered_replay=True, outcomes={"fast": StageStatus.FAILED}
    )
    await drive(pipeline, steps, ["fast"])
    assert steps.started() == ["stage:fast", "stage:slow", "skip:after_fast,join"]
    status = {name: r.status for name, r in steps.run.stages.items()}
    assert status == {
        "fast": StageStatus.FAILED,
        "slow": StageStatus.CANCELLED,  # recorded by the step runner, as the port asks
        "after_fast": StageStatus.SKIPPED,
        "join": StageStatus.SKIPPED,
    }
    assert steps.run.stages["join"].error["code"] == "RUN_ABORTED"  # type: ignore[index]


async def test_in_waves_a_layer_runs_in_batches_of_max_concurrency() -> None:
    stages = [FunctionStage(f"w{i}", noop) for i in range(3)]
    join = FunctionStage("join", noop, depends_on=["w0", "w1", "w2"])
    pipeline = Pipeline(name="batches", stages=[*stages, join], output="join", max_concurrency=2)
    steps = ScriptedSteps(new_run(pipeline), ordered_replay=True)
    await drive(pipeline, steps, ["w1", "w0", "w2", "join"])
    assert steps.log[:5] == ["stage:w0", "stage:w1", "done:w1", "done:w0", "stage:w2"]
