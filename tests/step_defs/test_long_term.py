from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from dependency_injector import providers
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.inprocess.models import StaticModelSource
from application.memory import LongTermMemory, NewMemory, ReconcileIndex, Retrieval
from domain.agents.models import AgentDefinition, MemoryPolicy
from domain.memory.long_term import RankingWeights
from tests.fakes import FlakyIndex
from tests.fakes.clock import FakeClock
from tests.step_defs.chat_steps import Chat, send, user_id
from tests.step_defs.conftest import World

scenarios("memory/long_term.feature")


@dataclass
class Recall:
    """A scenario's memory parts and what it saw: the model's prompts, the last search."""

    index: FlakyIndex = field(default_factory=FlakyIndex)
    clock: FakeClock = field(default_factory=FakeClock)
    weights: RankingWeights = field(default_factory=RankingWeights)
    seen: list[str] = field(default_factory=list)
    found: Retrieval | None = None

    def last_found(self) -> Retrieval:
        assert self.found is not None, "no search ran"
        return self.found


@pytest.fixture
def recall() -> Recall:
    return Recall()


def memory(world: World, recall: Recall) -> LongTermMemory:
    c = world.container
    return LongTermMemory(
        c.memory_repository(), recall.index, c.embedder(), recall.clock, recall.weights
    )


@given(parsers.parse('an agent "{name}" that recalls memories and writes episodes'))
def remembering_agent(world: World, recall: Recall, name: str) -> None:

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        # what the model was told: system notes, and the turn's own message (where the
        # prefix-cache layout puts recalled memories)
        recall.seen.append(
            " ".join(
                str(p.content)
                for m in messages
                if isinstance(m, ModelRequest)
                for p in m.parts
                if isinstance(p, SystemPromptPart | UserPromptPart)
            )
        )
        return ModelResponse(parts=[TextPart("noted")])

    c = world.container
    c.model_source.override(providers.Object(StaticModelSource(FunctionModel(model_fn))))
    c.memory_index.override(providers.Object(recall.index))
    c.agent_catalog.reset()
    c.agent_catalog().register(
        AgentDefinition(name=name, memory=MemoryPolicy(recall_k=3, episodes=True))
    )


@when(parsers.parse('"{name}" tells "{agent}" "{message}"'))
def tells(world: World, chat: Chat, name: str, agent: str, message: str) -> None:
    send(world, chat, name, message, None, agent)
    world.run(world.container.background_tasks().drain())  # the memory written after it


@when(parsers.parse('"{name}" asks "{agent}" in a new conversation "{message}"'))
def asks_new(world: World, chat: Chat, name: str, agent: str, message: str) -> None:
    send(world, chat, name, message, None, agent)


@then(parsers.parse('the model was reminded of "{text}"'))
def reminded(recall: Recall, text: str) -> None:
    assert text in recall.seen[-1]


@given(parsers.parse("ranking weights of similarity {s:g}, importance {i:g} and recency {r:g}"))
def weights(recall: Recall, s: float, i: float, r: float) -> None:
    recall.weights = RankingWeights(similarity=s, importance=i, recency=r)


@given(parsers.parse('"{name}" remembers "{content}" with importance {importance:g}'))
@when(parsers.parse('"{name}" remembers "{content}" with importance {importance:g}'))
def remembers(world: World, recall: Recall, name: str, content: str, importance: float) -> None:
    world.run(
        memory(world, recall).store(user_id(world, name), NewMemory(content, importance=importance))
    )


@when(parsers.parse('"{name}" searches her memories for "{query}"'))
def searches(world: World, recall: Recall, name: str, query: str) -> None:
    recall.found = world.run(memory(world, recall).retrieve(user_id(world, name), query, k=3))


@then(parsers.parse('the first memory found is "{content}"'))
def first_found(recall: Recall, content: str) -> None:
    assert recall.last_found().items[0].memory.content == content


@when(
    parsers.parse(
        "{days:d} days pass and memories older than {age:d} days "
        "below importance {floor:g} are cleaned up"
    )
)
def cleanup(world: World, recall: Recall, days: int, age: int, floor: float) -> None:
    recall.clock.advance(timedelta(days=days))
    world.run(memory(world, recall).cleanup_old_memories(None, timedelta(days=age), floor))


@then(parsers.parse('"{name}" still has only "{content}"'))
def still_has(world: World, recall: Recall, name: str, content: str) -> None:
    page = world.run(memory(world, recall).get_recent(user_id(world, name)))
    assert [m.content for m in page.items] == [content]


@given("the vector index is down")
def index_down(recall: Recall) -> None:
    recall.index.down = True


@then(parsers.parse('the search is degraded but finds "{content}"'))
def degraded(recall: Recall, content: str) -> None:
    found = recall.last_found()
    assert found.degraded and found.items[0].memory.content == content


@when("the vector index is back and the reconciler runs")
def reconcile(world: World, recall: Recall) -> None:
    recall.index.down = False
    world.run(
        ReconcileIndex(
            world.container.memory_repository(), recall.index, world.container.embedder()
        ).execute()
    )


@then(parsers.parse('"{name}" finds "{content}" in the vector index'))
def finds_in_index(world: World, recall: Recall, name: str, content: str) -> None:
    found = world.run(
        memory(world, recall).retrieve(user_id(world, name), content, k=1, mode="dense")
    )
    assert not found.degraded and found.items[0].memory.content == content
