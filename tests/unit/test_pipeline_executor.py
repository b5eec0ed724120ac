"""The in-process executor: modes (with proof of overlap and bounds), DAG early start,
error strategies, retries and backoff, timeouts, the results cache, events and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from pydantic import BaseModel

from adapters.clock import SystemClock
from adapters.memory.cache import InProcessCache
from application.pipelines.executor import InProcessExecutor
from domain.errors import CacheUnavailable
from domain.pipelines import (
    FunctionStage,
    Pipeline,
    RetryPolicy,
    RunStatus,
    StageContext,
    StageEvent,
    StageStatus,
)

USER = uuid4()


class Probe:
    """Stages that sleep, count calls, and record when they ran and how many overlapped."""

    def __init__(self) -> None:
        self.active = 0
        self.max_active = 0
        self.calls: dict[str, int] = {}
        self.spans: dict[str, tuple[float, float]] = {}

    def stage(
        self,
        name: str,
        *deps: str,
        delay: float = 0.01,
        fail: bool = False,
        fn: Callable[[Any], Any] | None = None,
        **kw: Any,
    ) -> FunctionStage:
        async def body(x: Any) -> Any:
            loop = asyncio.get_running_loop()
            start = loop.time()
            self.calls[name] = self.calls.get(name, 0) + 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                await asyncio.sleep(delay)
                if fail:
                    raise RuntimeError(f"{name} broke")
                return fn(x) if fn else f"{name}({x})"
            finally:
                self.active -= 1
                self.spans[name] = (start, loop.time())

        return FunctionStage(name, body, depends_on=deps, **kw)


def executor(**kw: Any) -> InProcessExecutor:
    return InProcessExecutor(clock=SystemClock(), **kw)


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


class Flaky:
    """Fails `failures` times, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, x: Any, ctx: StageContext) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError(f"attempt {ctx.attempt} failed")
        return f"ok on {ctx.attempt}"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


POLICY = RetryPolicy(attempts=3, backoff=0.01, multiplier=2.0, max_backoff=1.0)


def flaky_pipeline(flaky: Flaky, strategy: str) -> Pipeline[Any, Any]:
    return Pipeline(
        name="flaky",
        stages=[FunctionStage("call", flaky, retry=POLICY)],
        output="call",
        error_strategy=strategy,
    )


async def test_retry_retries_with_exponential_backoff() -> None:
    flaky, sleeps = Flaky(failures=2), Sleeps()
    events: list[StageEvent] = []
    run = await executor(sleep=sleeps).run(
        flaky_pipeline(flaky, "retry"), "x", user_id=USER, on_event=events.append
    )
    assert run.status is RunStatus.SUCCEEDED and run.output == "ok on 3"
    assert run.stages["call"].attempts == 3 and flaky.calls == 3
    assert sleeps.delays == pytest.approx([0.01, 0.02])
    assert [(e.status.value, e.attempt) for e in events] == [
        ("running", 1), ("retrying", 1), ("running", 2), ("retrying", 2), ("running", 3),
        ("succeeded", 3),
    ]  # fmt: skip
    assert events[1].error is not None and events[1].error["message"] == "attempt 1 failed"


async def test_retry_gives_up_after_its_attempts_then_fails_fast() -> None:
    flaky = Flaky(failures=5)
    run = await executor(sleep=Sleeps()).run(flaky_pipeline(flaky, "retry"), "x", user_id=USER)
    assert run.status is RunStatus.FAILED and run.stages["call"].attempts == 3
    assert flaky.calls == 3 and run.stages["call"].error["message"] == "attempt 3 failed"  # type: ignore[index]


async def test_retry_really_waits_with_a_tiny_backoff() -> None:
    run = await executor().run(flaky_pipeline(Flaky(failures=1), "retry"), "x", user_id=USER)
    assert run.stages["call"].attempts == 2 and run.stages["call"].duration >= 0.01


async def test_other_strategies_do_not_retry() -> None:
    flaky = Flaky(failures=1)
    run = await executor().run(flaky_pipeline(flaky, "fail_fast"), "x", user_id=USER)
    assert run.status is RunStatus.FAILED and flaky.calls == 1
    assert run.stages["call"].attempts == 1


async def test_a_stage_over_its_timeout_fails_with_stage_timeout() -> None:
    probe = Probe()
    slow = probe.stage("slow", delay=5, timeout=0.05)
    run = await executor().run(Pipeline(name="t", stages=[slow], output="slow"), 1, user_id=USER)
    result = run.stages["slow"]
    assert run.status is RunStatus.FAILED and result.status is StageStatus.FAILED
    assert result.error is not None and result.error["code"] == "STAGE_TIMEOUT"
    assert result.error["retryable"] and result.duration < 1


async def test_timeouts_are_per_attempt_and_retried() -> None:
    probe = Probe()
    slow = probe.stage("slow", delay=5, timeout=0.02, retry=POLICY)
    pipeline = Pipeline(name="t", stages=[slow], output="slow", error_strategy="retry")
    run = await executor(sleep=Sleeps()).run(pipeline, 1, user_id=USER)
    assert run.stages["slow"].attempts == 3 and probe.calls["slow"] == 3
    assert run.stages["slow"].error["code"] == "STAGE_TIMEOUT"  # type: ignore[index]


async def test_a_stages_own_timeout_error_is_an_ordinary_failure() -> None:
    async def raises(x: Any) -> Any:
        raise TimeoutError("upstream timed out")

    stage = FunctionStage("s", raises, timeout=5)
    run = await executor().run(Pipeline(name="t", stages=[stage], output="s"), 1, user_id=USER)
    assert run.stages["s"].error["code"] == "STAGE_FAILED"  # type: ignore[index]


class Doc(BaseModel):
    text: str
    score: float


def cached_pipeline(probe: Probe, version: str = "1") -> Pipeline[Any, Any]:
    retrieve = probe.stage(
        "retrieve",
        fn=lambda q: Doc(text=f"about {q}", score=0.5),
        cacheable=True,
        version=version,
        output_type=Doc,
    )
    draft = probe.stage("draft", "retrieve", fn=lambda d: f"draft: {d.text}")
    return Pipeline(name="rag", stages=[retrieve, draft], output="draft")


async def test_cached_stages_are_skipped_on_a_rerun() -> None:
    probe, cache = Probe(), InProcessCache()
    first = await executor(cache=cache).run(cached_pipeline(probe), "tea", user_id=USER)
    again = await executor(cache=cache).run(cached_pipeline(probe), "tea", user_id=USER)
    assert first.stages["retrieve"].status is StageStatus.SUCCEEDED
    assert again.stages["retrieve"].status is StageStatus.CACHED
    assert again.stages["retrieve"].attempts == 0
    assert again.stages["retrieve"].output == Doc(text="about tea", score=0.5)  # typed again
    assert again.output == first.output == "draft: about tea"
    assert probe.calls == {"retrieve": 1, "draft": 2}
    assert len(cache) == 1 and cache.keys()[0].startswith("pipeline:rag:retrieve:1:")


async def test_the_cache_key_covers_input_and_version() -> None:
    probe, cache = Probe(), InProcessCache()
    await executor(cache=cache).run(cached_pipeline(probe), "tea", user_id=USER)
    await executor(cache=cache).run(cached_pipeline(probe), "coffee", user_id=USER)
    await executor(cache=cache).run(cached_pipeline(probe, version="2"), "tea", user_id=USER)
    assert probe.calls["retrieve"] == 3


class DownCache:
    async def get(self, key: str) -> str | None:
        raise CacheUnavailable("down")

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        raise CacheUnavailable("down")

    async def delete(self, key: str) -> None:
        raise CacheUnavailable("down")

    async def delete_prefix(self, prefix: str) -> int:
        raise CacheUnavailable("down")


async def test_an_unavailable_cache_is_a_miss() -> None:
    probe = Probe()
    run = await executor(cache=DownCache()).run(cached_pipeline(probe), "tea", user_id=USER)
    assert run.status is RunStatus.SUCCEEDED and probe.calls["retrieve"] == 1


async def test_an_output_that_is_not_json_is_just_not_cached() -> None:
    probe, cache = Probe(), InProcessCache()
    stage = probe.stage("s", fn=lambda x: object(), cacheable=True)
    pipeline = Pipeline(name="opaque", stages=[stage], output="s")
    run = await executor(cache=cache).run(pipeline, 1, user_id=USER)
    assert run.status is RunStatus.SUCCEEDED and len(cache) == 0


class Metrics:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, StageStatus, float]] = []

    def stage_finished(
        self, pipeline: str, stage: str, status: StageStatus, seconds: float
    ) -> None:
        self.seen.append((pipeline, stage, status, seconds))


async def test_events_and_metrics_report_every_stage() -> None:
    metrics = Metrics()
    events: list[StageEvent] = []
    probe = Probe()
    pipeline = Pipeline(
        name="two", stages=[probe.stage("a"), probe.stage("b", "a")], output="b", mode="dag"
    )
    run = await executor(metrics=metrics).run(pipeline, 0, user_id=USER, on_event=events.append)
    assert [(e.stage, e.status.value) for e in events] == [
        ("a", "running"), ("a", "succeeded"), ("b", "running"), ("b", "succeeded")
    ]  # fmt: skip
    assert all(isinstance(e, StageEvent) and e.run_id == run.id for e in events)
    assert [(m[1], m[2]) for m in metrics.seen] == [("a", "succeeded"), ("b", "succeeded")]
    assert all(m[0] == "two" and m[3] > 0 for m in metrics.seen)


async def test_a_broken_listener_does_not_break_the_run() -> None:
    def explode(event: StageEvent) -> None:
        raise RuntimeError("listener bug")

    pipeline = Pipeline(name="one", stages=[Probe().stage("a")], output="a")
    run = await executor().run(pipeline, 0, user_id=USER, on_event=explode)
    assert run.status is RunStatus.SUCCEEDED


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
    assert probe.active == 0


async def test_sync_functions_and_the_run_record() -> None:
    double = FunctionStage("double", lambda x: x * 2)
    inc = FunctionStage("inc", lambda x: x + 1, depends_on=("double",))
    pipeline = Pipeline(name="sync", stages=[double, inc], output="inc", input_type=int)
    run_id = uuid4()
    run = await executor().run(pipeline, "20", user_id=USER, run_id=run_id)
    assert (run.id, run.user_id, run.input, run.output) == (run_id, USER, 20, 41)
    assert run.started_at and run.finished_at and run.duration is not None
