"""Declared pipeline files: load errors that name the file and the field (schema, then
every agent, tool, prompt and callable looked up, then the DAG), dependencies derived from
references, and the library of callables."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config.pipelines import YamlPipelineSource
from application.pipelines.declared import PipelineFactory
from application.pipelines.library import (
    bullet_points,
    collect,
    halves,
    join_texts,
    split_lines,
    sum_expression,
    word_count,
)
from domain.errors import ConfigurationError
from tests.pipeline_fakes import factory, spec, write

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
