"""Declared pipelines at run time: YAML files → specs → stage objects → runs on the
in-process executor, with fake models. Covers the shipped examples end to end, every
stage kind, and input mappings between stages (load errors: test_declared_pipeline_files)."""

from __future__ import annotations

from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.config.pipelines import YamlPipelineSource
from adapters.inprocess.cache import InProcessCache
from application.pipelines.stages import AgentStage, CallableStage, PromptStage, ToolStage
from domain.pipelines import RunStatus, StageStatus
from tests.fakes import echo_model, last_user_text
from tests.pipeline_fakes import ROOT, USER, factory, run, scripted, spec

EXAMPLES = ROOT / "config" / "pipelines"


# --- the shipped examples ---------------------------------------------------------------


def test_the_examples_load_and_validate() -> None:
    pipelines = YamlPipelineSource(EXAMPLES).pipelines(factory())
    assert sorted(pipelines) == ["fan-out-fan-in", "summarize-then-extract"]
    fan = pipelines["fan-out-fan-in"]
    assert fan.layers == (
        ("split",),
        ("count_first", "count_second"),
        ("merge", "sum_words"),
        ("total_words",),
        ("report",),
    )
    assert "s3 --> s6" in fan.to_mermaid() and "class s6 output" in fan.to_mermaid()
    summarize = pipelines["summarize-then-extract"]
    assert summarize.order == ("summarize", "extract", "key_points")
    assert summarize.to_dict()["stages"][2]["output_type"] == "list[str]"
    assert (summarize.input_type, summarize.output_type) == (str, list[str])


async def test_summarize_then_extract_runs_end_to_end() -> None:
    seen: list[str] = []

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append(last_user_text(messages))
        return scripted(messages, info)

    pipeline = YamlPipelineSource(EXAMPLES).pipelines(factory(FunctionModel(model)))
    result = await run(pipeline["summarize-then-extract"], "Cats are lovely animals.")
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert result.output == ["Cats sleep a lot", "Cats purr", "Content"]
    assert seen[0].startswith("Summarize the following text") and seen[0].endswith(
        "Cats are lovely animals.\n"
    )
    assert "Cats sleep a lot. They purr when content." in seen[1]


async def test_summarize_then_extract_with_the_echo_model_gives_a_list_of_strings() -> None:
    pipeline = YamlPipelineSource(EXAMPLES).pipelines(factory(echo_model()))
    result = await run(pipeline["summarize-then-extract"], "Dogs bark.")
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert isinstance(result.output, list) and result.output
    assert all(isinstance(point, str) for point in result.output)


async def test_fan_out_fan_in_runs_end_to_end() -> None:
    pipeline = YamlPipelineSource(EXAMPLES).pipelines(factory())["fan-out-fan-in"]
    docs = ["the cat sat", "The dog ran", "a cat and a dog"]
    result = await run(pipeline, docs)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert result.output == {
        "documents": 3,
        "words": 11,
        "counts": {"a": 2, "cat": 2, "dog": 2, "the": 2, "and": 1, "ran": 1, "sat": 1},
    }
    assert result.stages["sum_words"].output == "6 + 5"
    assert result.stages["count_first"].output["documents"] == 2
    assert result.stages["total_words"].output == 11


async def test_cacheable_stages_are_reused_across_runs() -> None:
    pipeline = YamlPipelineSource(EXAMPLES).pipelines(factory())["summarize-then-extract"]
    cache = InProcessCache()
    first = await run(pipeline, "Cats.", cache=cache)
    second = await run(pipeline, "Cats.", cache=cache)
    assert first.stages["summarize"].status is StageStatus.SUCCEEDED
    assert second.stages["summarize"].status is StageStatus.CACHED
    assert second.output == first.output
    assert pipeline.stage("summarize").version.startswith("1+")


# --- each stage kind -------------------------------------------------------------------


async def test_an_agent_stage_runs_for_the_user_of_the_run() -> None:
    pipeline = factory().build(
        spec(stages=[{"name": "ask", "kind": "agent", "agent": "who", "template": "{input}"}])
    )
    assert isinstance(pipeline.stage("ask"), AgentStage)
    result = await run(pipeline, "who am I?")
    assert result.output == f"you are {USER}"


async def test_a_tool_stage_takes_its_arguments_from_the_input() -> None:
    pipeline = factory().build(
        spec(
            stages=[
                {"name": "me", "kind": "tool", "tool": "whoami", "input": {}},
                {"name": "calc", "kind": "tool", "tool": "calculator@1.0.0"},
                {
                    "name": "both",
                    "kind": "callable",
                    "callable": "application.pipelines.library:collect",
                    "input": {"me": "$stages.me", "calc": "$stages.calc"},
                },
            ]
        )
    )
    assert isinstance(pipeline.stage("calc"), ToolStage)
    result = await run(pipeline, {"expression": "2 ** 10"})
    assert result.output == {"me": str(USER), "calc": 1024}


async def test_a_tool_stage_without_a_mapping_of_arguments_fails() -> None:
    pipeline = factory().build(spec(stages=[{"name": "c", "kind": "tool", "tool": "calculator"}]))
    result = await run(pipeline, "1 + 1")
    assert result.status is RunStatus.FAILED
    assert "needs a mapping of arguments" in result.stages["c"].error["message"]  # type: ignore[index]


async def test_a_prompt_stage_renders_variables_from_the_input() -> None:
    pipeline = factory().build(
        spec(
            stages=[
                {
                    "name": "render",
                    "kind": "prompt",
                    "prompt": "assistant@1.0.0",
                    "input": {"user": "$input.name"},
                }
            ]
        )
    )
    assert isinstance(pipeline.stage("render"), PromptStage)
    result = await run(pipeline, {"name": "ada"})
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert "You are talking to ada." in result.output


def shout(text: str) -> str:
    return text.upper()


async def exclaim(text: str, context: Any) -> str:
    return f"{text}! ({context.stage})"


async def test_callable_stages_run_sync_and_async_and_are_typed() -> None:
    pipeline = factory(shout=shout, exclaim=exclaim).build(
        spec(
            input_type="string",
            stages=[
                {"name": "loud", "kind": "callable", "callable": "tests.x:shout"},
                {
                    "name": "bang",
                    "kind": "callable",
                    "callable": "tests.x:exclaim",
                    "depends_on": ["loud"],
                },
            ],
        )
    )
    loud = pipeline.stage("loud")
    assert isinstance(loud, CallableStage)
    assert (loud.input_type, loud.output_type) == (str, str)
    result = await run(pipeline, "hi")
    assert result.output == "HI! (bang)"


def test_callables_are_imported_by_path() -> None:
    pipeline = factory().build(
        spec(stages=[{"name": "s", "kind": "callable", "callable": f"{__name__}:shout"}])
    )
    assert pipeline.stage("s").fn is shout  # type: ignore[attr-defined]


# --- mapping between stages ------------------------------------------------------------


async def test_a_later_stage_can_read_the_pipeline_input_and_other_outputs() -> None:
    pipeline = factory().build(
        spec(
            input_type="object",
            stages=[
                {
                    "name": "count",
                    "kind": "callable",
                    "callable": "application.pipelines.library:word_count",
                    "input": "$input.text",
                },
                {
                    "name": "answer",
                    "kind": "callable",
                    "callable": "application.pipelines.library:collect",
                    "input": {
                        "title": "$input.title",
                        "words": "$stages.count.words",
                        "top": "$stages.count.counts",
                        "cost": "$$5",
                    },
                },
            ],
        )
    )
    assert pipeline.stage("answer").depends_on == ("count", "input")
    assert pipeline.layers[0] == ("input", "count")
    result = await run(pipeline, {"title": "T", "text": "b a b"})
    assert result.output == {"title": "T", "words": 3, "top": {"b": 2, "a": 1}, "cost": "$5"}


async def test_a_missing_path_fails_the_stage_naming_the_reference() -> None:
    pipeline = factory().build(
        spec(
            stages=[
                {
                    "name": "s",
                    "kind": "callable",
                    "callable": f"{__name__}:shout",
                    "input": "$input.nope",
                }
            ]
        )
    )
    result = await run(pipeline, {"text": "x"})
    assert result.status is RunStatus.FAILED
    error = result.stages["s"].error or {}
    assert error["code"] == "STAGE_FAILED"
    assert error["message"].startswith("$input.nope: no key 'nope'")


async def test_an_agent_template_reads_fields_of_a_mapped_input() -> None:
    pipeline = factory().build(
        spec(
            stages=[
                {
                    "name": "ask",
                    "kind": "agent",
                    "agent": "assistant",
                    "input": {"q": "$input.question", "n": "$input.n"},
                    "template": "Answer {q} in {n} words",
                }
            ]
        )
    )
    result = await run(pipeline, {"question": "why", "n": 3})
    assert result.output == "echo: Answer why in 3 words"
