"""Steps of features/pipelines: pipelines built from tables of stages, run in process on
the in-memory cache and run store. Steps are synchronous; async calls go through the
world's one event-loop runner."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.clock import SystemClock
from adapters.inprocess.cache import InProcessCache
from adapters.inprocess.pipeline_runs import InProcessPipelineRunStore
from application.pipelines.executor import InProcessExecutor
from application.pipelines.runs import GetPipelineRun, RunPipeline
from domain.errors import NotFound, PipelineInvalid
from domain.pipelines import FunctionStage, Pipeline, PipelineRun, RetryPolicy
from entrypoints.rest.errors import http_status

scenarios("pipelines/pipelines.feature")

TINY_BACKOFF = RetryPolicy(attempts=3, backoff=0.001, multiplier=2.0, max_backoff=0.01)


@pytest.fixture(autouse=True)
def backend() -> str:
    """Pipelines run in process only: no PostgreSQL variant of these scenarios."""
    return "memory"


class PipelineWorld:
    """The executor, cache and run store of a scenario, and what its stages did."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()
        self.cache = InProcessCache()
        self.store = InProcessPipelineRunStore()
        self.executor = InProcessExecutor(cache=self.cache, clock=SystemClock())
        self.pipelines: dict[str, Pipeline[Any, Any]] = {}
        self.users: dict[str, UUID] = {}
        self.runs: dict[str, list[PipelineRun]] = {}
        self.last: PipelineRun | None = None
        self.refused: PipelineInvalid | None = None
        self.calls: dict[str, int] = {}
        self.spans: dict[str, tuple[float, float]] = {}
        self.active = 0
        self.max_active = 0

    def user(self, name: str) -> UUID:
        return self.users.setdefault(name, uuid4())

    def stage(self, row: dict[str, str]) -> FunctionStage:
        name, seconds = row["stage"], float(row.get("seconds") or 0)
        fails = row.get("fails", "")
        failures = 10**6 if fails == "yes" else int(fails.split()[0]) if fails else 0

        async def body(x: Any) -> str:
            loop = asyncio.get_running_loop()
            start = loop.time()
            self.calls[name] = self.calls.get(name, 0) + 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                await asyncio.sleep(seconds)
                if self.calls[name] <= failures:
                    raise RuntimeError(f"{name} failed (call {self.calls[name]})")
                return f"{name}({x})"
            finally:
                self.active -= 1
                self.spans[name] = (start, loop.time())

        after = tuple(d.strip() for d in row.get("after", "").split(",") if d.strip())
        timeout = float(row["timeout"]) if row.get("timeout") else None
        return FunctionStage(
            name,
            body,
            depends_on=after,
            retry=TINY_BACKOFF,
            timeout=timeout,
            cacheable=row.get("cacheable") == "yes",
        )


@pytest.fixture
def pipeline_world() -> Iterator[PipelineWorld]:
    w = PipelineWorld()
    yield w
    w.runner.close()


def rows(datatable: list[list[str]]) -> list[dict[str, str]]:
    header, *body = datatable
    return [dict(zip(header, row, strict=True)) for row in body]


def build(w: PipelineWorld, mode: str, name: str, table: list[list[str]], **kw: Any) -> None:
    stages = [w.stage(row) for row in rows(table)]
    w.pipelines[name] = Pipeline(name=name, stages=stages, output=stages[-1].name, mode=mode, **kw)


@given("an in-process pipeline executor with a results cache")
def executor_with_cache(pipeline_world: PipelineWorld) -> None:
    assert pipeline_world.executor is not None


PIPELINE = (
    r'a "(?P<mode>\w+)" pipeline "(?P<name>[\w-]+)"'
    r"(?: limited to (?P<limit>\d+) at a time)?"
    r'(?: with the "(?P<strategy>\w+)" strategy)? of stages:'
)


@given(parsers.re(PIPELINE))
def a_pipeline(
    pipeline_world: PipelineWorld,
    mode: str,
    name: str,
    limit: str | None,
    strategy: str | None,
    datatable: list[list[str]],
) -> None:
    build(
        pipeline_world,
        mode,
        name,
        datatable,
        max_concurrency=int(limit) if limit else 8,
        error_strategy=strategy or "fail_fast",
    )


@when(parsers.parse('a "{mode}" pipeline "{name}" is defined with stages:'))
def define_pipeline(
    pipeline_world: PipelineWorld, mode: str, name: str, datatable: list[list[str]]
) -> None:
    try:
        build(pipeline_world, mode, name, datatable)
    except PipelineInvalid as exc:
        pipeline_world.refused = exc


@when(parsers.parse('"{user}" runs "{name}" with "{value}"'))
def runs(pipeline_world: PipelineWorld, user: str, name: str, value: str) -> None:
    w = pipeline_world
    use_case = RunPipeline(w.executor, w.store, SystemClock())
    run = w.runner.run(use_case.execute(w.pipelines[name], value, user_id=w.user(user)))
    w.runs.setdefault(user, []).append(run)
    w.last = run


def last(w: PipelineWorld) -> PipelineRun:
    assert w.last is not None, "nothing was run"
    return w.last


@then("the run succeeded")
def run_succeeded(pipeline_world: PipelineWorld) -> None:
    run = last(pipeline_world)
    assert run.status.value == "succeeded", run.to_dict()


@then(parsers.parse('the run succeeded with output "{output}"'))
def run_succeeded_with(pipeline_world: PipelineWorld, output: str) -> None:
    run_succeeded(pipeline_world)
    assert last(pipeline_world).output == output


@then("the run failed")
def run_failed(pipeline_world: PipelineWorld) -> None:
    assert last(pipeline_world).status.value == "failed"


@then(parsers.re(r"at most (?P<n>\d+) stages? ran at a time"))
def at_most(pipeline_world: PipelineWorld, n: str) -> None:
    assert pipeline_world.max_active <= int(n), pipeline_world.max_active


@then(parsers.parse("{n:d} stages ran at the same time"))
def overlapped(pipeline_world: PipelineWorld, n: int) -> None:
    assert pipeline_world.max_active == n


@then(parsers.parse("the stages started in the order {names}"))
def started_in_order(pipeline_world: PipelineWorld, names: str) -> None:
    spans = pipeline_world.spans
    assert sorted(spans, key=lambda s: spans[s][0]) == [n.strip() for n in names.split(",")]


@then(parsers.parse('"{first}" finished while "{other}" was still running'))
def finished_while(pipeline_world: PipelineWorld, first: str, other: str) -> None:
    spans = pipeline_world.spans
    assert spans[first][1] < spans[other][1] and spans[first][0] > spans[other][0]


@then("the stages ended as:")
def stages_ended(pipeline_world: PipelineWorld, datatable: list[list[str]]) -> None:
    run = last(pipeline_world)
    expected = {row["stage"]: row["status"] for row in rows(datatable)}
    assert {name: r.status.value for name, r in run.stages.items()} == expected


@then(parsers.parse('the output "{output}" of "{stage}" was kept'))
def output_kept(pipeline_world: PipelineWorld, output: str, stage: str) -> None:
    assert last(pipeline_world).stages[stage].output == output


@then(parsers.parse('"{stage}" took {n:d} attempts'))
def took_attempts(pipeline_world: PipelineWorld, stage: str, n: int) -> None:
    assert last(pipeline_world).stages[stage].attempts == n
    assert pipeline_world.calls[stage] == n


@then(parsers.parse('"{stage}" failed with error code "{code}"'))
def failed_with(pipeline_world: PipelineWorld, stage: str, code: str) -> None:
    result = last(pipeline_world).stages[stage]
    assert result.status.value == "failed" and result.error is not None
    assert result.error["code"] == code


@then(parsers.re(r'"(?P<stage>\w+)" was called (?P<n>\d+) times?'))
def called(pipeline_world: PipelineWorld, stage: str, n: str) -> None:
    assert pipeline_world.calls.get(stage, 0) == int(n)


@then(parsers.parse('it is refused with error code "{code}" naming the stages {names}'))
def refused(pipeline_world: PipelineWorld, code: str, names: str) -> None:
    error = pipeline_world.refused
    assert error is not None and error.code == code and http_status(error) == 422
    assert error.details["stages"] == [n.strip() for n in names.split(",")]
    assert all(n.strip() in error.message for n in names.split(","))


@then("no stage was called")
def nothing_called(pipeline_world: PipelineWorld) -> None:
    assert pipeline_world.calls == {}


@then(parsers.parse('"{user}" can read her last run'))
def can_read(pipeline_world: PipelineWorld, user: str) -> None:
    w = pipeline_world
    run = w.runs[user][-1]
    assert w.runner.run(GetPipelineRun(w.store).execute(run.id, w.user(user))) == run


@then(parsers.parse('"{other}" cannot read "{owner}"\'s last run'))
def cannot_read(pipeline_world: PipelineWorld, other: str, owner: str) -> None:
    w = pipeline_world
    run = w.runs[owner][-1]
    with pytest.raises(NotFound):
        w.runner.run(GetPipelineRun(w.store).execute(run.id, w.user(other)))


@then(parsers.parse('"{user}" has no runs'))
def no_runs(pipeline_world: PipelineWorld, user: str) -> None:
    w = pipeline_world
    assert w.runner.run(w.store.page(w.user(user))).items == []
