"""Pipelines, domain: validation (each problem names its stages), type rules, layering,
introspection, stages, cache keys and the run record's status rules."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict
from uuid import uuid4

import pytest
from pydantic import BaseModel

from domain.errors import PipelineInvalid, ValidationFailed
from domain.pipelines import (
    FunctionStage,
    Pipeline,
    PipelineRun,
    PipelineStage,
    RetryPolicy,
    RunStatus,
    StageContext,
    StageResult,
    StageStatus,
)
from domain.pipelines.caching import cache_prefix, canonical_json, stage_cache_key
from domain.pipelines.compat import accepts, accepts_mapping, type_name
from domain.pipelines.graph import find_cycle, topological_layers
from entrypoints.rest.errors import http_status


def ident(x: Any) -> Any:
    return x


def stage(name: str, *deps: str, **kw: Any) -> FunctionStage:
    return FunctionStage(name, ident, depends_on=deps, **kw)


def invalid(**kw: Any) -> PipelineInvalid:
    with pytest.raises(PipelineInvalid) as caught:
        Pipeline(name=kw.pop("name", "p"), **kw)
    assert caught.value.code == "PIPELINE_INVALID" and http_status(caught.value) == 422
    return caught.value


def kinds(error: PipelineInvalid) -> list[str]:
    return [p["kind"] for p in error.details["problems"]]


# --- validation ------------------------------------------------------------------------


def test_unknown_dependency_names_both_stages() -> None:
    error = invalid(stages=[stage("a"), stage("b", "ghost")], output="b")
    assert kinds(error) == ["unknown_dependency"]
    assert error.details["stages"] == ["b", "ghost"]
    assert "'b'" in error.message and "'ghost'" in error.message


def test_cycle_names_the_stages_on_it() -> None:
    error = invalid(
        stages=[stage("a"), stage("b", "a", "d"), stage("c", "b"), stage("d", "c")], output="d"
    )
    assert kinds(error) == ["cycle"]
    assert error.details["stages"] == ["b", "c", "d"]
    assert "b -> d -> c -> b" in error.message


def test_self_dependency_is_a_cycle() -> None:
    error = invalid(stages=[stage("a", "a")], output="a")
    assert kinds(error) == ["cycle"] and error.details["stages"] == ["a"]


def test_unknown_output_stage() -> None:
    error = invalid(stages=[stage("a")], output="nope")
    assert kinds(error) == ["unknown_output"] and error.details["stages"] == ["nope"]


def test_stages_that_do_not_reach_the_output_are_refused() -> None:
    error = invalid(stages=[stage("a"), stage("b", "a"), stage("side", "a")], output="b")
    assert kinds(error) == ["dead_stage"]
    assert error.details["problems"][0]["stages"] == ["side", "b"]
    assert "side" in error.message


def test_duplicates_empty_and_bad_settings() -> None:
    assert kinds(invalid(stages=[stage("a"), stage("a")], output="a")) == ["duplicate_stage"]
    assert kinds(invalid(stages=[], output="a")) == ["empty"]
    assert "bad_setting" in kinds(invalid(stages=[stage("a")], output="a", max_concurrency=0))
    assert kinds(invalid(stages=[stage("a")], output="a", mode="warp")) == ["bad_setting"]


def test_type_mismatch_between_connected_stages() -> None:
    error = invalid(
        stages=[stage("a", output_type=str), stage("b", "a", input_type=int)], output="b"
    )
    assert kinds(error) == ["type_mismatch"]
    problem = error.details["problems"][0]
    assert problem["stages"] == ["a", "b"]
    assert (problem["expected"], problem["produced"]) == ("int", "str")


def test_root_and_output_types_are_checked_against_the_pipeline() -> None:
    error = invalid(stages=[stage("a", input_type=int)], output="a", input_type=str)
    assert error.details["problems"][0]["consumer"] == "a"
    assert error.details["problems"][0]["producer"] == "(pipeline input)"
    error = invalid(stages=[stage("a", output_type=str)], output="a", output_type=int)
    assert error.details["stages"] == ["a"]


def test_a_stage_with_several_dependencies_receives_a_dict() -> None:
    a, b = stage("a", output_type=str), stage("b", output_type=int)
    Pipeline(name="ok", stages=[a, b, stage("j", "a", "b", input_type=dict[str, Any])], output="j")
    Pipeline(
        name="ok", stages=[a, b, stage("j", "a", "b", input_type=Mapping[str, Any])], output="j"
    )
    error = invalid(stages=[a, b, stage("j", "a", "b", input_type=str)], output="j")
    assert sorted(p["producer"] for p in error.details["problems"]) == ["a", "b"]
    error = invalid(stages=[a, b, stage("j", "a", "b", input_type=dict[str, str])], output="j")
    assert [p["producer"] for p in error.details["problems"]] == ["b"]


class Joined(TypedDict):
    a: str
    b: int


def test_typed_dict_inputs_check_each_key() -> None:
    a, b = stage("a", output_type=str), stage("b", output_type=int)
    Pipeline(name="ok", stages=[a, b, stage("j", "a", "b", input_type=Joined)], output="j")
    bad_b = stage("b", output_type=bytes)
    error = invalid(stages=[a, bad_b, stage("j", "a", "b", input_type=Joined)], output="j")
    assert error.details["problems"][0]["producer"] == "b"


def test_undeclared_types_are_not_checked() -> None:
    Pipeline(name="ok", stages=[stage("a"), stage("b", "a", input_type=int)], output="b")


def test_compat_rules() -> None:
    assert accepts(float, int) and accepts(Sequence[str], list[str]) and accepts(str | None, str)
    assert not accepts(int, str) and not accepts(list[int], list[str])
    assert not accepts(str, str | None) and accepts(Any, bytes) and accepts(int, None)
    assert accepts(tuple[int, ...], tuple[int, ...]) and not accepts(dict[str, int], list[int])
    assert accepts_mapping(dict, {"a": str}) == [] and accepts_mapping(list[str], {"a": str})
    assert type_name(list[str]) == "list[str]" and type_name(None) is None


# --- layering --------------------------------------------------------------------------


def test_kahn_layers_keep_declaration_order() -> None:
    graph = {"z": (), "a": (), "m": ("z",), "b": ("a", "z"), "end": ("m", "b")}
    assert topological_layers(graph) == [["z", "a"], ["m", "b"], ["end"]]


def test_layering_refuses_cycles_and_unknown_names() -> None:
    with pytest.raises(ValueError, match="cycle"):
        topological_layers({"a": ("b",), "b": ("a",)})
    with pytest.raises(ValueError, match="unknown"):
        topological_layers({"a": ("x",)})
    assert find_cycle({"a": (), "b": ("a",)}) is None
    assert find_cycle({"a": ("b",), "b": ("a",)}) == ["a", "b", "a"]


def test_duplicate_dependencies_are_counted_once() -> None:
    assert topological_layers({"a": (), "b": ("a", "a")}) == [["a"], ["b"]]


def diamond(**kw: Any) -> Pipeline[Any, Any]:
    return Pipeline(
        name="diamond",
        stages=[stage("fetch"), stage("left", "fetch"), stage("right", "fetch"),
                stage("join", "left", "right")],
        output="join",
        **kw,
    )  # fmt: skip


def test_pipeline_layers_and_order() -> None:
    p = diamond()
    assert p.layers == (("fetch",), ("left", "right"), ("join",))
    assert p.order == ("fetch", "left", "right", "join")
    assert p.dependents("fetch") == ("left", "right")


# --- introspection ---------------------------------------------------------------------


def test_to_mermaid_is_a_deterministic_graph() -> None:
    p = Pipeline(
        name="m", stages=[stage('say "hi"'), stage("b", 'say "hi"'), stage("c", "b")], output="c"
    )
    assert p.to_mermaid() == "\n".join(
        [
            "graph TD",
            '    s0["say #quot;hi#quot;"]',
            '    s1["b"]',
            '    s2["c"]',
            "    s0 --> s1",
            "    s1 --> s2",
            "    classDef output stroke-width:3px",
            "    class s2 output",
        ]
    )
    assert diamond().to_mermaid() == diamond().to_mermaid()


def test_to_dict_and_to_json() -> None:
    p = diamond(mode="parallel", error_strategy="continue", input_type=str)
    data = json.loads(p.to_json())
    assert data == p.to_dict()
    assert data["mode"] == "parallel" and data["error_strategy"] == "continue"
    assert data["input_type"] == "str" and data["output"] == "join"
    assert data["layers"] == [["fetch"], ["left", "right"], ["join"]]
    assert data["stages"][3]["depends_on"] == ["left", "right"]
    assert data["stages"][0]["retry"] == {
        "attempts": 3, "backoff": 0.5, "multiplier": 2.0, "max_backoff": 30.0
    }  # fmt: skip


def test_input_is_validated_and_coerced() -> None:
    p = Pipeline(name="typed", stages=[stage("a")], output="a", input_type=int)
    assert p.validate_input("3") == 3
    with pytest.raises(ValidationFailed) as caught:
        p.validate_input("three")
    assert caught.value.details["pipeline"] == "typed"


# --- stages ----------------------------------------------------------------------------


class Words(PipelineStage[str, list[str]]):
    name = "words"

    async def run(self, input: str, context: StageContext) -> list[str]:
        return input.split()


def typed_fn(text: str) -> int:
    return len(text)


async def test_generic_stage_declares_its_types() -> None:
    assert (Words.input_type, Words.output_type) == (str, list[str])
    context = StageContext(uuid4(), uuid4(), "p", "words")
    assert await Words().run("a b", context) == ["a", "b"]


async def test_function_stage_infers_types_and_passes_context() -> None:
    s = FunctionStage("len", typed_fn)
    assert (s.input_type, s.output_type) == (str, int)
    assert FunctionStage("x", lambda x: x).input_type is None
    context = StageContext(uuid4(), uuid4(), "p", "s", attempt=2)

    async def with_context(x: int, ctx: StageContext) -> str:
        return f"{x}@{ctx.stage}#{ctx.attempt}"

    assert await FunctionStage("s", with_context).run(1, context) == "1@s#2"
    assert await FunctionStage("s", typed_fn).run("abc", context) == 3  # sync: in a thread


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(attempts=5, backoff=0.1, multiplier=3, max_backoff=0.5)
    assert [policy.delay(n) for n in (1, 2, 3)] == pytest.approx([0.1, 0.3, 0.5])
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


# --- cache keys ------------------------------------------------------------------------


class Query(BaseModel):
    text: str
    k: int = 3


def test_cache_keys_are_canonical() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    key = stage_cache_key("p", "s", "1", {"b": 1, "a": 2})
    assert key == stage_cache_key("p", "s", "1", {"a": 2, "b": 1})
    assert key.startswith(cache_prefix("p", "s")) and key.startswith(cache_prefix("p"))
    assert key != stage_cache_key("p", "s", "2", {"a": 2, "b": 1})
    assert stage_cache_key("p", "s", "1", Query(text="x")) == stage_cache_key(
        "p", "s", "1", {"k": 3, "text": "x"}
    )
    assert stage_cache_key("a:b", "c", "1", 0) != stage_cache_key("a", "b:c", "1", 0)


# --- run records -----------------------------------------------------------------------

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_run_status_rules() -> None:
    run = PipelineRun("p", uuid4(), "in")
    run.start(AT)
    run.record(StageResult("a", StageStatus.SUCCEEDED, attempts=1, output="A"))
    run.record(StageResult("b", StageStatus.CACHED, output="B"))
    run.finish(AT, "b")
    assert run.status is RunStatus.SUCCEEDED and run.output == "B" and run.duration == 0.0

    failed = PipelineRun("p", uuid4(), "in")
    failed.record(StageResult("a", StageStatus.SUCCEEDED, output="A"))
    error = {"code": "STAGE_TIMEOUT", "message": "slow"}
    failed.record(StageResult("b", StageStatus.FAILED, error=error))
    failed.finish(AT, "b")
    assert failed.status is RunStatus.FAILED and failed.output is None
    assert failed.error is not None and failed.error["code"] == "STAGE_TIMEOUT"
    assert failed.stages["a"].output == "A"  # finished stages keep their outputs

    cancelled = PipelineRun("p", uuid4(), "in")
    cancelled.finish(AT, "b", cancelled=True)
    assert cancelled.status is RunStatus.CANCELLED


def test_run_to_dict_is_json() -> None:
    run = PipelineRun("p", uuid4(), Query(text="q"))
    run.record(StageResult("a", StageStatus.SUCCEEDED, output=object()))
    data = json.loads(json.dumps(run.to_dict()))
    assert data["input"] == {"text": "q", "k": 3} and data["status"] == "pending"
    assert data["stages"]["a"]["output"].startswith("<object")
