"""Agents whose instructions come from a prompt: the instructions function renders the
prompt each turn with fixed and per-turn values; the catalog check catches bad references."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.config.agents import YamlAgentSource
from adapters.prompts import YamlPromptSource
from application.agents.prompted import check_prompt, instructions_for
from application.agents.runner import AgentDeps
from application.memory import Retrieval
from application.prompts import PromptManager
from domain.agents.models import AgentDefinition, MemoryPolicy
from domain.errors import ConfigurationError
from domain.memory.long_term import Memory, ScoredMemory

PROMPT = """version: 1.0.0
variables:
  user: {type: string, default: someone}
  date: {type: string, default: ""}
  memories: {type: list, default: []}
  tone: {type: string}
template: |
  Be {{ tone }} with {{ user }} on {{ date }}.
  {% for m in memories %}
  * {{ m }}
  {% endfor %}
"""


@pytest.fixture
def prompts(tmp_path: Path) -> PromptManager:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "helper.yaml").write_text(PROMPT)
    return PromptManager(YamlPromptSource(tmp_path))


class Recorder:
    def __init__(self) -> None:
        self.instructions: list[str | None] = []
        self.model = FunctionModel(self._reply)

    def _reply(self, _messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.instructions.append(info.instructions)
        return ModelResponse(parts=[TextPart("ok")])


class FakeMemory:
    def __init__(self, *contents: str) -> None:
        self.contents = contents
        self.calls = 0

    async def retrieve(self, user_id: Any, query: str, k: int) -> Retrieval:
        self.calls += 1
        items = [ScoredMemory(Memory(user_id, c), 0.9, 0.9) for c in self.contents]
        return Retrieval(items=items[:k], mode="hybrid")


async def run(definition: AgentDefinition, prompts: PromptManager, deps: AgentDeps) -> str | None:
    recorder = Recorder()
    instructions = instructions_for(definition, prompts, today=lambda: date(2026, 3, 14))
    agent = Agent(recorder.model, instructions=instructions, deps_type=AgentDeps)
    await agent.run("hello", deps=deps)
    return recorder.instructions[-1]


def test_without_a_prompt_the_plain_instructions_are_used(prompts: PromptManager) -> None:
    definition = AgentDefinition(name="plain", instructions="Be brief.")
    assert instructions_for(definition, prompts) == "Be brief."
    check_prompt(definition, None)  # nothing to check


async def test_the_prompt_is_rendered_with_fixed_and_turn_values(prompts: PromptManager) -> None:
    definition = AgentDefinition(
        name="helper", prompt="helper@1.0.0", prompt_variables={"tone": "warm"}
    )
    deps = AgentDeps(user_id=uuid4(), extras={"username": "ada", "memories": ["likes tea"]})
    text = await run(definition, prompts, deps)
    assert text == "Be warm with ada on 2026-03-14.\n* likes tea"


async def test_memories_are_recalled_once_per_run_when_not_given(prompts: PromptManager) -> None:
    definition = AgentDefinition(
        name="helper",
        prompt="helper",
        prompt_variables={"tone": "kind"},
        memory=MemoryPolicy(recall_k=1),
    )
    memory = FakeMemory("lives in Porto", "has a cat")
    deps = AgentDeps(user_id=uuid4(), memory=memory)  # type: ignore[arg-type]
    text = await run(definition, prompts, deps)
    assert text == "Be kind with someone on 2026-03-14.\n* lives in Porto"
    assert memory.calls == 1 and deps.extras["memories"] == ["lives in Porto"]


def test_the_catalog_check_catches_bad_references(prompts: PromptManager) -> None:
    ok = AgentDefinition(name="helper", prompt="helper@1.0.0", prompt_variables={"tone": "x"})
    check_prompt(ok, prompts)
    cases = {
        "not found": AgentDefinition(name="a1", prompt="nope", prompt_variables={}),
        "no version": AgentDefinition(
            name="a1", prompt="helper@2.0.0", prompt_variables={"tone": "x"}
        ),
        "not a variable": AgentDefinition(
            name="a1", prompt="helper", prompt_variables={"tone": "x", "mood": 1}
        ),
        "must be string": AgentDefinition(name="a1", prompt="helper", prompt_variables={"tone": 3}),
        "requires 'tone'": AgentDefinition(name="a1", prompt="helper"),
    }
    for says, definition in cases.items():
        with pytest.raises(ConfigurationError, match=says) as caught:
            check_prompt(definition, prompts)
        assert caught.value.details["agent"] == "a1"
    with pytest.raises(ConfigurationError, match="prompts are not loaded"):
        check_prompt(ok, None)
    with pytest.raises(ConfigurationError, match="no prompt manager"):
        instructions_for(ok, None)


def test_the_shipped_agents_reference_shipped_prompts() -> None:
    prompts = PromptManager(YamlPromptSource("config/prompts"))
    definitions = YamlAgentSource("config/agents").load()
    assert all(d.prompt for d in definitions)
    for definition in definitions:
        check_prompt(definition, prompts)
