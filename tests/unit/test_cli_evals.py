"""`mai eval agent|memory` through Typer's CliRunner on the memory profile, with the shipped
agents and datasets, offline models (`--model test`, `--model function:…`) and the test
embedder. What a database would keep between invocations is shared through the
`build_container` seam."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from dependency_injector import providers
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo
from typer.testing import CliRunner, Result

from adapters.memory.eval_runs import InMemoryEvalRunStore
from adapters.memory.identity import InMemoryUserRepository
from adapters.memory.memories import InMemoryMemoryRepository
from adapters.memory.vector_index import InMemoryVectorIndex
from container import Container
from entrypoints.cli import main as cli
from entrypoints.cli import runtime as cli_runtime
from tests.fakes import HashEmbedder, tool_result, user_texts

pytestmark = pytest.mark.usefixtures("cli_memory_profile")
ROOT = Path(__file__).parents[2]


def wrong_answers(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """A model that never says what the smoke dataset wants."""
    return ModelResponse(parts=[TextPart("I would rather not.")])


def tokyo_clock(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Calls current_time for Asia/Tokyo once, then reports the result."""
    result = tool_result(messages)
    if result is None:
        return ModelResponse(parts=[ToolCallPart("current_time", {"timezone": "Asia/Tokyo"})])
    return ModelResponse(parts=[TextPart(f"It is {result}.")])


def echo_instructions(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Says the instructions it was given: the prompt version shows in the output."""
    return ModelResponse(parts=[TextPart(info.instructions or "")])


def strict_judge(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """An LLMJudge model: passes outputs that mention "success", fails the rest."""
    prompt = " ".join(user_texts(messages))
    verdict = {"reason": "checked", "pass": "success" in prompt, "score": 1.0}
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, verdict)])


def broken_judge(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    raise RuntimeError("the judge is unreachable")


class World:
    def __init__(self) -> None:
        self.users = InMemoryUserRepository()
        self.memories = InMemoryMemoryRepository()
        self.index = InMemoryVectorIndex(64)
        self.embedder = HashEmbedder()
        self.runs = InMemoryEvalRunStore()

    def container(self) -> Container:
        container = Container()
        container.users.override(providers.Object(self.users))
        container.memory_repository.override(providers.Object(self.memories))
        container.memory_index.override(providers.Object(self.index))
        container.embedder.override(providers.Object(self.embedder))
        container.eval_run_store.override(providers.Object(self.runs))
        return container


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("AGENTS__DIR", str(ROOT / "config" / "agents"))
    monkeypatch.setenv("PROMPTS__DIR", str(ROOT / "config" / "prompts"))
    world = World()
    monkeypatch.setattr(cli_runtime, "build_container", world.container)
    return world


def mai(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args))


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def one_line_error(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.output.count("error [") == 1
    for fragment in fragments:
        assert fragment in result.output, result.output


# --- mai eval agent ------------------------------------------------------------------


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
        "--model", f"function:{__name__}:wrong_answers", "--min-score", "0.9",
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "below threshold" in result.output
    [stored] = world.runs.runs.values()
    assert stored.score < 0.9 and not stored.passed


def test_compare_runs_two_models_side_by_side(world: World) -> None:
    result = mai(
        "eval", "agent", "assistant", str(ROOT / "evals" / "assistant-smoke.yaml"),
        "--model", "test", "--compare", f"model=function:{__name__}:wrong_answers",
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
        "eval", "agent", "assistant", dataset, "--model", f"function:{__name__}:echo_instructions",
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
        "--judge-model", f"function:{__name__}:strict_judge", "--json", str(judged))  # fmt: skip
    result = mai("eval", "agent", "assistant", dataset, "--model", "test", "--min-score", "0.5",
        "--judge-model", f"function:{__name__}:broken_judge", "--json", str(broken))  # fmt: skip

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

    mai("eval", "agent", "timekeeper", dataset, "--model", f"function:{__name__}:tokyo_clock",
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


# --- mai eval memory -----------------------------------------------------------------

JSONL = "\n".join(
    json.dumps(row)
    for row in [
        {"id": "m1", "memory": "My sister Lena moved to Porto last spring."},
        {"id": "m2", "memory": "I can't stand cilantro, it tastes like soap."},
        {"id": "m3", "memory": "The wifi password at the cabin is bluefinch."},
        {"question": "Where did my sister Lena move?", "evidence": ["m1"]},
        {"question": "What is the cabin wifi password?", "evidence": ["m3"]},
        {"question": "Which vegetable do I grow?", "evidence": ["m9"]},
    ]
)


def test_memory_eval_prints_each_mode_records_runs_and_cleans_up(
    world: World, tmp_path: Path
) -> None:
    data = write(tmp_path, "mine.jsonl", JSONL)
    out = tmp_path / "runs.json"

    result = mai("eval", "memory", data, "--min-recall", "0.5", "--json", str(out))

    assert result.exit_code == 0, result.output
    for word in ("dense", "lexical", "hybrid", "recall@10", "MRR", "p95 ms"):
        assert word in result.output
    assert "1 questions skipped" in result.output
    runs = json.loads(out.read_text())
    assert [r["target"] for r in runs] == ["dense", "lexical", "hybrid"]
    assert all(r["metrics"]["recall@10"] == 1.0 and r["metrics"]["questions"] == 2 for r in runs)
    assert len(world.runs.runs) == 3
    assert world.users.users == {}
    assert world.memories.rows == {} and asyncio.run(world.index.count()) == 0


def test_memory_eval_exits_1_below_min_recall(world: World, tmp_path: Path) -> None:
    data = write(tmp_path, "mine.jsonl", JSONL)
    result = mai("eval", "memory", data, "--mode", "lexical", "--k", "1", "--min-recall", "1")
    # recall@10 is measured at depth max(k, 10), so it passes; a harder set fails:
    assert result.exit_code == 0, result.output
    hard = write(
        tmp_path,
        "hard.jsonl",
        JSONL + "\n" + json.dumps({"question": "zzz qqq", "evidence": ["m2"]}),
    )
    result = mai("eval", "memory", hard, "--mode", "lexical", "--min-recall", "1")
    assert result.exit_code == 1, result.output
    assert "below threshold" in result.output


def test_memory_eval_reads_locomo(world: World, tmp_path: Path) -> None:
    turns = [
        {"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a grey cat named Pixel."},
        {"speaker": "Bo", "dia_id": "D1:2", "text": "I am training for the Berlin marathon."},
    ]
    locomo = [
        {
            "conversation": {"speaker_a": "Ann", "speaker_b": "Bo", "session_1": turns,
                             "session_1_date_time": "1 May 2023"},
            "qa": [
                {"question": "What is the cat called?", "evidence": ["D1:1"], "category": 1},
                {"question": "Which races?", "evidence": ["D1:2; D1:1"], "category": 2},
                {"question": "Trick?", "evidence": [], "category": 5},
            ],
        }
    ]  # fmt: skip
    data = write(tmp_path, "locomo.json", json.dumps(locomo * 2))
    out = tmp_path / "runs.json"

    result = mai("eval", "memory", data, "--conversations", "1", "--mode", "hybrid",
                 "--json", str(out))  # fmt: skip

    assert result.exit_code == 0, result.output
    [run] = json.loads(out.read_text())
    assert run["dataset"] == "locomo[:1]" and run["metrics"]["questions"] == 2
    assert run["metrics"]["memories"] == 2 and run["details"]["skipped_questions"] == 1


@pytest.mark.parametrize(
    ("name", "text", "fragments"),
    [
        ("bad.jsonl", '{"id": "m1", "memory": "x"}\nnot json', ["line 2", "not JSON"]),
        ("bad.jsonl", '{"id": "m1", "note": "x"}', ["line 1", "'memory' or a 'question'"]),
        ("bad.json", '{"memories": [{"id": "m1"}], "questions": []}', ["memory 0", "'memory'"]),
        ("bad.json", '{"memories": [], "questions": []}', ["no question"]),
        ("bad.json", "[{}]", ["conversation 0"]),
    ],
)
def test_a_malformed_memory_set_names_the_file_and_the_place(
    world: World, tmp_path: Path, name: str, text: str, fragments: list[str]
) -> None:
    one_line_error(mai("eval", "memory", write(tmp_path, name, text)), 2, name, *fragments)
    assert world.runs.runs == {}
