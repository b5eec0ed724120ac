"""Running one stage (through the one scheduler, in process): retries and backoff,
timeouts, the intermediate results cache, events and metrics."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from adapters.inprocess.cache import InProcessCache
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
from tests.pipeline_fakes import USER, Probe, executor


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
