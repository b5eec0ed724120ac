"""Declared pipelines: YAML files → specs → stage objects → runs on the in-process
executor, with fake models. Covers the shipped examples end to end, every stage kind,
input mappings, and load errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic_ai import RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.clock import SystemClock
from adapters.config.agents import YamlAgentSource
from adapters.config.pipelines import YamlPipelineSource
from adapters.memory.cache import InProcessCache
from adapters.memory.models import StaticModelSource
from adapters.memory.tools import InMemoryToolStateStore
from adapters.prompts.yaml_source import YamlPromptSource
from application.agents.catalog import AgentCatalog
from application.agents.framework import AgentDeps
from application.pipelines.declared import PipelineFactory
from application.pipelines.executor import InProcessExecutor
from application.pipelines.library import (
    bullet_points,
    collect,
    halves,
    join_texts,
    split_lines,
    sum_expression,
    word_count,
)
from application.pipelines.stages import AgentStage, CallableStage, PromptStage, ToolStage
from application.prompts.manager import PromptManager
from application.tools.builtins import BUILTIN_TOOLS
from application.tools.registry import ToolRegistry
from domain.agents.models import AgentDefinition
from domain.errors import ConfigurationError
from domain.pipelines import Pipeline, PipelineRun, RunStatus, StageStatus
from domain.pipelines.spec import PipelineSpec
from tests.fakes import echo_model, last_user_text, tool_result

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "config" / "pipelines"
USER = uuid4()


async def no_sleep(_seconds: float) -> None:
    return None


async def whoami(ctx: RunContext[AgentDeps]) -> str:
    """Who is asking (the user id the tool sees)."""
    return str(ctx.deps.user_id)


def scripted(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
    """Summaries, bullet points, and a `whoami` call for the agent that has that tool."""
    prompt, result = last_user_text(messages), tool_result(messages)
    if result is not None:
        return ModelResponse(parts=[TextPart(f"you are {result}")])
    if prompt == "who am I?":
        return ModelResponse(parts=[ToolCallPart("whoami", {}, "call-1")])
    if prompt.startswith("Summarize"):
        return ModelResponse(parts=[TextPart("Cats sleep a lot. They purr when content.")])
    if prompt.startswith("List the key points"):
        return ModelResponse(parts=[TextPart("- Cats sleep a lot\n- Cats purr\n\n* Content")])
    return ModelResponse(parts=[TextPart(f"echo: {prompt}")])


def services(model: Any = None) -> tuple[AgentCatalog, ToolRegistry, PromptManager]:
    registry = ToolRegistry(InMemoryToolStateStore())
    for fn in (*BUILTIN_TOOLS, whoami):
        registry.register(fn)
    source = StaticModelSource(model or FunctionModel(scripted))
    prompts = PromptManager(YamlPromptSource(ROOT / "config" / "prompts"))
    agents = YamlAgentSource(ROOT / "config" / "agents")
    catalog = AgentCatalog(agents, source, registry, prompts=prompts)
    catalog.register(AgentDefinition(name="who", tools=("whoami",)))
    return catalog, registry, prompts


def factory(model: Any = None, **callables: Any) -> PipelineFactory:
    """A factory on the shipped agents and prompts; `callables` (by function name)
    replace importing, for test functions."""
    agents, tools, prompts = services(model)
    if not callables:
        return PipelineFactory(agents=agents, tools=tools, prompts=prompts)

    def resolve(path: str) -> Any:
        return callables[path.partition(":")[2]]

    return PipelineFactory(agents=agents, tools=tools, prompts=prompts, resolve_callable=resolve)


def spec(**fields: Any) -> PipelineSpec:
    return PipelineSpec.model_validate({"name": "p", **fields})


async def run(pipeline: Pipeline[Any, Any], value: Any, **kw: Any) -> PipelineRun:
    executor = InProcessExecutor(clock=SystemClock(), sleep=no_sleep, **kw)
    return await executor.run(pipeline, value, user_id=USER)


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


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


# --- errors that name the file and the field ---------------------------------------------

AGENT = "{name: a, kind: agent, agent: assistant}"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("name: p\n", "stages", "Field required"),
        ("name: p\nstages: [{name: a, kind: robot}]\n", "stages.0.kind", "Input should be"),
        ("name: p\nstages: [{name: a, kind: agent}]\n", "stages.0.agent", "must name one"),
        (
            "name: p\nstages: [{name: a, kind: tool, tool: calculator, agent: assistant}]\n",
            "stages.0.agent",
            "not allowed on a tool stage",
        ),
        (
            "name: p\nstages: [{name: a, kind: tool, tool: calculator, template: x}]\n",
            "stages.0.template",
            "only agent stages",
        ),
        (
            "name: p\nstages: [{name: a, kind: callable, callable: nope}]\n",
            "stages.0.callable",
            "import path",
        ),
        (
            "name: p\nstages: [{name: a, kind: prompt, prompt: 'X Y'}]\n",
            "stages.0.prompt",
            "prompt name",
        ),
        (f"name: p\nstages: [{AGENT}, {AGENT}]\n", "stages.1.name", "already stage 0"),
        (
            "name: p\nstages: [{name: input, kind: agent, agent: assistant}]\n",
            "stages.0.name",
            "reserved",
        ),
        (
            f"name: p\nstages: [{AGENT}, {{name: b, kind: agent, agent: x, depends_on: [c]}}]\n",
            "stages.1.depends_on",
            "unknown stage 'c'",
        ),
        (
            f"name: p\nstages: [{AGENT}, {{name: b, kind: agent, agent: x, input: $stages.zz}}]\n",
            "stages.1.input",
            "unknown stage",
        ),
        (
            "name: p\nstages: [{name: a, kind: agent, agent: x, input: {q: $stage.a}}]\n",
            "stages.0.input",
            "q: ",
        ),
        (
            "name: p\nstages: [{name: a, kind: agent, agent: x, template: '{a'}]\n",
            "stages.0.template",
            "unbalanced",
        ),
        (f"name: p\noutput: zz\nstages: [{AGENT}]\n", "output", "not a stage"),
        (f"name: p\ninput_type: number\nstages: [{AGENT}]\n", "input_type", "Input should be"),
        (
            "name: p\nstages: [{name: a, kind: agent, agent: x, retries: 3}]\n",
            "stages.0.retries",
            "Extra",
        ),
        (
            "name: p\nstages: [{name: a, kind: agent, agent: x, retry: {attempts: 0}}]\n",
            "stages.0.retry.attempts",
            "greater",
        ),
    ],
)
def test_schema_errors_name_the_file_and_the_field(
    tmp_path: Path, text: str, field: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        YamlPipelineSource(tmp_path).load()
    assert caught.value.details == {"file": str(path), "field": field}
    assert caught.value.message.startswith(f"{path}: invalid pipeline field {field}: ")
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("stages", "field", "message"),
    [
        ("[{name: a, kind: agent, agent: nobody}]", "stages.0.agent", "Agent 'nobody' not found"),
        ("[{name: a, kind: tool, tool: nothing}]", "stages.0.tool", "No tool 'nothing'"),
        ("[{name: a, kind: tool, tool: calculator@9.9.9}]", "stages.0.tool", "version 9.9.9"),
        (
            "[{name: a, kind: prompt, prompt: nothing}]",
            "stages.0.prompt",
            "Prompt 'nothing' not found",
        ),
        ("[{name: a, kind: prompt, prompt: assistant@9.0.0}]", "stages.0.prompt", "no version"),
        (
            "[{name: a, kind: callable, callable: 'no_such_mod:f'}]",
            "stages.0.callable",
            "cannot import",
        ),
        (
            "[{name: a, kind: callable, callable: 'application.pipelines.library:nope'}]",
            "stages.0.callable",
            "no public attribute 'nope'",
        ),
        (
            "[{name: a, kind: callable, callable: 'application.pipelines.library:_sorted'}]",
            "stages.0.callable",
            "no public attribute",
        ),
        (
            f"[{AGENT}, {{name: b, kind: agent, agent: assistant, depends_on: [c]}},"
            " {name: c, kind: agent, agent: assistant, depends_on: [b]}]",
            "stages.1.depends_on",
            "cycle",
        ),
        (f"[{AGENT}, {{name: b, kind: agent, agent: assistant}}]", "stages.0", "do not contribute"),
        (
            "[{name: a, kind: callable, callable: 'application.pipelines.library:halves'},"
            " {name: b, kind: callable, callable: 'application.pipelines.library:split_lines',"
            " depends_on: [a]}]",
            "stages.1.input",
            "b expects str but a produces dict[str, list[Any]]",
        ),
    ],
)
def test_build_errors_name_the_file_and_the_field(
    tmp_path: Path, stages: str, field: str, message: str
) -> None:
    path = write(tmp_path, f"name: p\nstages: {stages}\n")
    with pytest.raises(ConfigurationError) as caught:
        YamlPipelineSource(tmp_path).pipelines(factory())
    assert caught.value.details["file"] == str(path)
    assert caught.value.details["field"] == field
    assert caught.value.message.startswith(f"{path}: pipeline 'p': {field}: ")
    assert message in caught.value.message


def test_a_missing_service_is_named(tmp_path: Path) -> None:
    write(tmp_path, f"name: p\nstages: [{AGENT}]\n")
    with pytest.raises(ConfigurationError, match="need an agent catalog") as caught:
        YamlPipelineSource(tmp_path).pipelines(PipelineFactory())
    assert caught.value.details["field"] == "stages.0.agent"


def test_unreadable_files_and_duplicate_names_are_refused(tmp_path: Path) -> None:
    broken = write(tmp_path, "name: [unclosed\n", "a.yaml")
    with pytest.raises(ConfigurationError, match="not readable YAML") as caught:
        YamlPipelineSource(tmp_path).load()
    assert caught.value.details == {"file": str(broken)}
    broken.write_text("- just a list\n")
    with pytest.raises(ConfigurationError, match="expected a mapping"):
        YamlPipelineSource(tmp_path).load()
    broken.write_text(f"name: p\nstages: [{AGENT}]\n")
    second = write(tmp_path, f"name: p\nstages: [{AGENT}]\n", "b.yml")
    with pytest.raises(ConfigurationError, match="already defined in") as caught:
        YamlPipelineSource(tmp_path).load()
    assert caught.value.details == {"file": str(second), "field": "name"}


def test_a_missing_directory_has_no_pipelines(tmp_path: Path) -> None:
    assert YamlPipelineSource(tmp_path / "none").load() == []


def test_a_spec_derives_dependencies_from_references() -> None:
    parsed = spec(
        stages=[
            {"name": "a", "kind": "agent", "agent": "x"},
            {
                "name": "b",
                "kind": "agent",
                "agent": "x",
                "depends_on": ["a"],
                "input": ["$stages.a", "$input"],
            },
            {"name": "c", "kind": "agent", "agent": "x", "input": {"q": "$input"}},
        ]
    )
    assert [s.resolved_depends_on for s in parsed.stages] == [(), ("a", "input"), ()]
    assert parsed.needs_input_stage and parsed.output_stage == "c"
    assert parsed.python_input_type is None


# --- the library of callables ----------------------------------------------------------


def test_library_functions() -> None:
    assert split_lines("  a \n\n b\n") == ["a", "b"]
    assert bullet_points("Points:\n- one\n* two\n3. three\n•  four\n") == [
        "Points:",
        "one",
        "two",
        "three",
        "four",
    ]
    assert halves([1, 2, 3]) == {"first": [1, 2], "second": [3]}
    assert halves([]) == {"first": [], "second": []}
    assert word_count("It's a well-known fact, a FACT.") == {
        "documents": 1,
        "words": 6,
        "counts": {"a": 2, "fact": 2, "it's": 1, "well-known": 1},
    }
    assert sum_expression([1, 2.5]) == "1 + 2.5" and sum_expression({}) == "0"
    with pytest.raises(TypeError):
        sum_expression(["1; import os"])  # type: ignore[list-item]
    assert join_texts({"a": " x ", "b": "", "c": "y"}) == "x\n\ny"
    assert collect({"a": 1}) == {"a": 1}
