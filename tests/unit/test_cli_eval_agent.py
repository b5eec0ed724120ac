"""`mai eval agent` through Typer's CliRunner on the memory profile, with the shipped agents
and datasets and offline models (`--model test`, `--model function:…`): scores, thresholds,
comparisons, the LLM judge, tool and memory evaluators, and errors before anything runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.unit.cli_evals_support import (
    HEARD,
    MODELS,
    ROOT,
    World,
    mai,
    one_line_error,
    shipped_world,
    write,
)

pytestmark = pytest.mark.usefixtures("cli_memory_profile")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return shipped_world(monkeypatch)


def test_the_shipped_smoke_dataset_passes_offline_and_is_recorded(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "run.json"
    result = mai(
        "eval", "agent", "assistant", str(ROOT / "evals" / "assistant-smoke.yaml"),
        "--model", "test", "--min-score", "0.9", "--json", str(out),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    for case in ("answers", "multi-turn", "exact", "agent-run-span", "average"):
        assert case in result.output
    [run] = json.loads(out.read_text())
    assert run["score"] == 1.0 and run["passed"] is True and len(run["cases"]) == 4
    assert run["cases"][3]["assertions"]["agent_run_traced"] is True  # HasMatchingSpan
    [stored] = world.runs.runs.values()
    assert stored.dataset == "assistant-smoke" and stored.model == "test"
    assert world.users.users == {}  # every eval user was removed


def test_a_score_below_the_threshold_exits_1(world: World) -> None:
    result = mai(
        "eval", "agent", "assistant", str(ROOT / "evals" / "assistant-smoke.yaml"),
        "--model", f"function:{MODELS}:wrong_answers", "--min-score", "0.9",
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "below threshold" in result.output
    [stored] = world.runs.runs.values()
    assert stored.score < 0.9 and not stored.passed


def test_compare_runs_two_models_side_by_side(world: World) -> None:
    result = mai(
        "eval", "agent", "assistant", str(ROOT / "evals" / "assistant-smoke.yaml"),
        "--model", "test", "--compare", f"model=function:{MODELS}:wrong_answers",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Δ" in result.output and "model=test" in result.output
    scores = sorted(r.score for r in world.runs.runs.values())
    assert len(scores) == 2 and scores[0] < scores[1] == 1.0


def test_compare_runs_two_prompt_versions_side_by_side(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "config" / "prompts", prompts)
    (prompts / "agents" / "assistant.yaml").write_text(
        """
name: assistant
versions:
  - version: 1.0.0
    template: You are MAI, a helpful assistant.
  - version: 1.1.0
    template: You are MAI, a helpful assistant. Always speak like a PIRATE.
"""
    )
    monkeypatch.setenv("PROMPTS__DIR", str(prompts))
    dataset = write(
        tmp_path,
        "pirate.yaml",
        "cases: [{name: pirate, inputs: Hello, evaluators: [{Contains: {value: PIRATE}}]}]",
    )
    out = tmp_path / "runs.json"

    result = mai(
        "eval", "agent", "assistant", dataset, "--model", f"function:{MODELS}:echo_instructions",
        "--compare", "prompt=1.1.0", "--json", str(out),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "prompt=1.1.0" in result.output and "+1.00" in result.output
    runs = json.loads(out.read_text())
    assert [(r["prompt_version"], r["score"]) for r in runs] == [(None, 0.0), ("1.1.0", 1.0)]


def test_llm_judge_uses_the_judge_model_and_a_failed_judge_scores_0(
    world: World, tmp_path: Path
) -> None:
    dataset = write(
        tmp_path,
        "judged.yaml",
        "cases: [{name: judged, inputs: Hi, evaluators: [{LLMJudge: {rubric: Says success}}]}]",
    )
    judged, broken = tmp_path / "judged.json", tmp_path / "broken.json"

    mai("eval", "agent", "assistant", dataset, "--model", "test",
        "--judge-model", f"function:{MODELS}:strict_judge", "--json", str(judged))  # fmt: skip
    result = mai("eval", "agent", "assistant", dataset, "--model", "test", "--min-score", "0.5",
        "--judge-model", f"function:{MODELS}:broken_judge", "--json", str(broken))  # fmt: skip

    [ok] = json.loads(judged.read_text())[0]["cases"]
    assert ok["assertions"] == {"LLMJudge": True} and ok["score"] == 1.0
    [failed] = json.loads(broken.read_text())[0]["cases"]
    assert failed["score"] == 0.0 and "unreachable" in failed["error"]
    assert result.exit_code == 1


def test_tool_called_checks_the_name_and_the_arguments(world: World, tmp_path: Path) -> None:
    dataset = write(
        tmp_path,
        "tools.yaml",
        """
cases:
  - name: tokyo
    inputs: What time is it in Tokyo?
    evaluators:
      - ToolCalled: {name: current_time, args: {timezone: Asia/Tokyo}}
  - name: paris
    inputs: What time is it in Paris?
    evaluators:
      - ToolCalled: {name: current_time, args: {timezone: Europe/Paris}}
""",
    )
    out = tmp_path / "run.json"

    mai("eval", "agent", "timekeeper", dataset, "--model", f"function:{MODELS}:tokyo_clock",
        "--json", str(out))  # fmt: skip

    cases = {c["name"]: c for c in json.loads(out.read_text())[0]["cases"]}
    assert cases["tokyo"]["assertions"] == {"ToolCalled": True}
    assert cases["paris"]["assertions"] == {"ToolCalled": False}


def test_memory_recalled_sees_the_seeded_memories_of_a_fresh_user(
    world: World, tmp_path: Path
) -> None:
    dataset = write(
        tmp_path,
        "memory.yaml",
        """
cases:
  - name: porto
    inputs: Where does my sister Lena live?
    metadata: {memories: ["My sister Lena moved to Porto last spring."]}
    evaluators: [{MemoryRecalled: {contains: porto}}]
  - name: not-seeded-here
    inputs: Where does my sister Lena live?
    evaluators: [{MemoryRecalled: {contains: porto}}]
""",
    )
    out = tmp_path / "run.json"

    mai("eval", "agent", "companion", dataset, "--model", "test", "--json", str(out))

    cases = {c["name"]: c for c in json.loads(out.read_text())[0]["cases"]}
    assert cases["porto"]["assertions"] == {"MemoryRecalled": True}
    assert cases["not-seeded-here"]["assertions"] == {"MemoryRecalled": False}  # isolated
    assert world.users.users == {}
    assert world.memories.rows == {}  # forgotten, and purged from the index


def test_a_multi_turn_case_runs_its_turns_on_one_conversation_and_scores_the_last_reply(
    world: World, tmp_path: Path
) -> None:
    dataset = write(
        tmp_path,
        "turns.yaml",
        """
cases:
  - name: green
    inputs: ["My favourite colour is green.", "What is my favourite colour?"]
    expected_output: Your favourite colour is green.
  - name: blue
    inputs: ["My favourite colour is blue.", "Lovely weather.", "What is my favourite colour?"]
    expected_output: Your favourite colour is blue.
  - name: asked-first
    inputs: ["What is my favourite colour?", "My favourite colour is red."]
    expected_output: Noted.
  - name: never-told
    inputs: What is my favourite colour?
    expected_output: Your favourite colour is blue.
evaluators: [EqualsExpected]
""",
    )
    out = tmp_path / "run.json"

    result = mai("eval", "agent", "assistant", dataset,
                 "--model", f"function:{MODELS}:colour_keeper", "--json", str(out))  # fmt: skip

    assert result.exit_code == 0, result.output
    cases = {c["name"]: c for c in json.loads(out.read_text())[0]["cases"]}
    # The last turn saw the first one's message: both went on one conversation.
    assert cases["green"]["output"] == "Your favourite colour is green."
    assert cases["blue"]["output"] == "Your favourite colour is blue."
    assert cases["green"]["score"] == cases["blue"]["score"] == 1.0
    # The reply scored is the last one, not the first ("You never told me.").
    assert cases["asked-first"]["output"] == "Noted." and cases["asked-first"]["score"] == 1.0
    # A case starts a conversation of its own: nothing carries over from the cases before.
    assert cases["never-told"]["output"] == "You never told me."
    assert cases["never-told"]["score"] == 0.0
    assert world.users.users == {}


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("cases: [{name: a}]", ["case 'a'", "'inputs'"]),
        (
            "cases: [{name: a, inputs: hi, evaluators: [Nope]}]",
            ["case 'a'", "unknown evaluator 'Nope'"],
        ),
        (
            "cases: [{name: a, inputs: hi, evaluators: [{Contains: {valu: x}}]}]",
            ["case 'a'", "evaluators"],
        ),
        ("cases: [{name: a, inputs: [hi, ''], evaluators: []}]", ["case 'a'", "non-empty text"]),
        ("cases: [{name: a, inputs: hi, metadata: {memories: 3}}]", ["'metadata.memories'"]),
        ("cases: [{name: a, inputs: hi, colour: red}]", ["case 'a'", "'colour'"]),
        ("cases: [{name: a, inputs: hi}, {name: a, inputs: ho}]", ["case 'a'", "unique"]),
        ("cases: [{name: a, inputs: hi}]\nevaluators: [Nope]", ["unknown evaluator 'Nope'"]),
        ("cases:\n  - name: a\n   inputs: x", ["not valid YAML at line"]),
        ("name: x", ["'cases'"]),
    ],
)
def test_a_malformed_dataset_names_the_file_the_case_and_the_field(
    world: World, tmp_path: Path, text: str, fragments: list[str]
) -> None:
    dataset = write(tmp_path, "bad.yaml", text)

    result = mai("eval", "agent", "assistant", dataset, "--model", "test")

    one_line_error(result, 2, "bad.yaml", *fragments)
    assert world.runs.runs == {}


def test_an_unknown_agent_or_a_missing_file_fails_before_anything_runs(
    world: World, tmp_path: Path
) -> None:
    smoke = str(ROOT / "evals" / "assistant-smoke.yaml")
    one_line_error(mai("eval", "agent", "nobody", smoke, "--model", "test"), 4, "'nobody'")
    one_line_error(mai("eval", "agent", "assistant", str(tmp_path / "none.yaml")), 4, "none.yaml")
    one_line_error(
        mai("eval", "agent", "assistant", smoke, "--prompt-version", "9.9.9", "--model", "test"),
        78,
        "9.9.9",
    )
    one_line_error(mai("eval", "agent", "assistant", smoke, "--model", "function:nowhere:x"), 78)
    one_line_error(mai("eval", "agent", "assistant", smoke, "--compare", "colour=red"), 2)
    assert world.runs.runs == {} and world.users.users == {}


@pytest.mark.parametrize(
    ("compare", "fragment"),
    [("model=function:nowhere:x", "function:nowhere:x"), ("prompt=9.9.9", "9.9.9")],
)
def test_a_bad_compare_variant_fails_before_the_first_variant_runs(
    world: World, compare: str, fragment: str
) -> None:
    smoke = str(ROOT / "evals" / "assistant-smoke.yaml")
    HEARD.clear()

    result = mai("eval", "agent", "assistant", smoke,
                 "--model", f"function:{MODELS}:heard", "--compare", compare)  # fmt: skip

    one_line_error(result, 78, fragment)
    assert HEARD == []  # the first variant's model was never asked anything
    assert world.runs.runs == {} and world.users.users == {}
    # The same command without the bad variant does run its cases (the check can fail).
    ran = mai("eval", "agent", "assistant", smoke, "--model", f"function:{MODELS}:heard")
    assert ran.exit_code == 0, ran.output
    assert len(HEARD) >= 4 and len(world.runs.runs) == 1
