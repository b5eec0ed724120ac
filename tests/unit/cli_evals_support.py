"""What the `mai eval` CLI tests share: offline models for `--model function:…` and
`--judge-model`, a `World` of in-memory stores kept between invocations (through the
`build_container` seam), and helpers to invoke the CLI and check its one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from dependency_injector import providers
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo
from typer.testing import CliRunner, Result

from adapters.inprocess.eval_runs import InProcessEvalRunStore
from adapters.inprocess.identity import InProcessUserRepository
from adapters.inprocess.memories import InProcessMemoryRepository
from adapters.inprocess.vector_index import InProcessVectorIndex
from container import Container
from entrypoints.cli import main as cli
from entrypoints.cli import runtime as cli_runtime
from tests.fakes import HashEmbedder, tool_result, user_texts

ROOT = Path(__file__).parents[2]
#: Where the `--model function:…` models below live, for the CLI to import them.
MODELS = __name__


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


#: Every user message `heard` was asked about, in order (a test clears it first).
HEARD: list[str] = []


def heard(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Notes the message it answers in HEARD: proof of whether any case ran."""
    HEARD.append(user_texts(messages)[-1])
    return ModelResponse(parts=[TextPart("success")])


def colour_keeper(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Answers "What is my favourite colour?" from an earlier "My favourite colour is X."
    in the conversation's history, and says "Noted." to anything else."""
    said = user_texts(messages)
    if "favourite colour?" not in said[-1]:
        return ModelResponse(parts=[TextPart("Noted.")])
    told = [t for t in said[:-1] if t.startswith("My favourite colour is ")]
    colour = told[-1].removeprefix("My favourite colour is ").rstrip(".") if told else None
    answer = f"Your favourite colour is {colour}." if colour else "You never told me."
    return ModelResponse(parts=[TextPart(answer)])


def strict_judge(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """An LLMJudge model: passes outputs that mention "success", fails the rest."""
    prompt = " ".join(user_texts(messages))
    verdict = {"reason": "checked", "pass": "success" in prompt, "score": 1.0}
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, verdict)])


def broken_judge(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    raise RuntimeError("the judge is unreachable")


class World:
    def __init__(self) -> None:
        self.users = InProcessUserRepository()
        self.memories = InProcessMemoryRepository()
        self.index = InProcessVectorIndex(64)
        self.embedder = HashEmbedder()
        self.runs = InProcessEvalRunStore()

    def container(self) -> Container:
        container = Container()
        container.users.override(providers.Object(self.users))
        container.memory_repository.override(providers.Object(self.memories))
        container.memory_index.override(providers.Object(self.index))
        container.embedder.override(providers.Object(self.embedder))
        container.eval_run_store.override(providers.Object(self.runs))
        return container


def shipped_world(monkeypatch: pytest.MonkeyPatch) -> World:
    """A `World` every CLI invocation of the test runs on, with the shipped agents and
    prompts (the `world` fixture of each test module)."""
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
