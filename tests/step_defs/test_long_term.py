from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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

from adapters.memory.models import StaticModelSource
from application.memory import LongTermMemory, NewMemory, ReconcileIndex, Retrieval
from domain.agents.models import AgentDefinition, MemoryPolicy
from domain.memory.long_term import RankingWeights
from tests.fakes import FlakyIndex
from tests.step_defs.chat_steps import send, user_id
from tests.step_defs.conftest import World

scenarios("memory/long_term.feature")


class MovableClock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


def state(world: World) -> dict[str, Any]:
    if not hasattr(world, "ltm"):
        world.ltm = {
            "seen": [],
            "index": FlakyIndex(),
            "clock": MovableClock(),
            "weights": RankingWeights(),
        }  # type: ignore[attr-defined]
    return world.ltm  # type: ignore[attr-defined, no-any-return]


def memory(world: World) -> LongTermMemory:
    s = state(world)
    c = world.container
    return LongTermMemory(c.memory_repository(), s["index"], c.embedder(), s["clock"], s["weights"])


@given(parsers.parse('an agent "{name}" that recalls memories and writes episodes'))
def remembering_agent(world: World, name: str) -> None:
    s = state(world)

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        # what the model was told: system notes, and the turn's own message (where the
        # prefix-cache layout puts recalled memories)
        s["seen"].append(
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
    c.memory_index.override(providers.Object(s["index"]))
    c.agent_catalog.reset()
    c.agent_catalog().register(
        AgentDefinition(name=name, memory=MemoryPolicy(recall_k=3, episodes=True))
    )


@when(parsers.parse('"{name}" tells "{agent}" "{message}"'))
def tells(world: World, name: str, agent: str, message: str) -> None:
    send(world, name, message, None, agent)
    world.run(world.container.background_tasks().drain())  # the memory written after it


@when(parsers.parse('"{name}" asks "{agent}" in a new conversation "{message}"'))
def asks_new(world: World, name: str, agent: str, message: str) -> None:
    send(world, name, message, None, agent)


@then(parsers.parse('the model was reminded of "{text}"'))
def reminded(world: World, text: str) -> None:
    assert text in state(world)["seen"][-1]


@given(parsers.parse("ranking weights of similarity {s:g}, importance {i:g} and recency {r:g}"))
def weights(world: World, s: float, i: float, r: float) -> None:
    state(world)["weights"] = RankingWeights(similarity=s, importance=i, recency=r)


@given(parsers.parse('"{name}" remembers "{content}" with importance {importance:g}'))
@when(parsers.parse('"{name}" remembers "{content}" with importance {importance:g}'))
def remembers(world: World, name: str, content: str, importance: float) -> None:
    world.run(memory(world).store(user_id(world, name), NewMemory(content, importance=importance)))


@when(parsers.parse('"{name}" searches her memories for "{query}"'))
def searches(world: World, name: str, query: str) -> None:
    state(world)["found"] = world.run(memory(world).retrieve(user_id(world, name), query, k=3))


@then(parsers.parse('the first memory found is "{content}"'))
def first_found(world: World, content: str) -> None:
    found: Retrieval = state(world)["found"]
    assert found.items[0].memory.content == content


@when(
    parsers.parse(
        "{days:d} days pass and memories older than {age:d} days "
        "below importance {floor:g} are cleaned up"
    )
)
def cleanup(world: World, days: int, age: int, floor: float) -> None:
    state(world)["clock"].at += timedelta(days=days)
    world.run(memory(world).cleanup_old_memories(None, timedelta(days=age), floor))


@then(parsers.parse('"{name}" still has only "{content}"'))
def still_has(world: World, name: str, content: str) -> None:
    page = world.run(memory(world).get_recent(user_id(world, name)))
    assert [m.content for m in page.items] == [content]


@given("the vector index is down")
def index_down(world: World) -> None:
    state(world)["index"].down = True


@then(parsers.parse('the search is degraded but finds "{content}"'))
def degraded(world: World, content: str) -> None:
    found: Retrieval = state(world)["found"]
    assert found.degraded and found.items[0].memory.content == content


@when("the vector index is back and the reconciler runs")
def reconcile(world: World) -> None:
    s = state(world)
    s["index"].down = False
    world.run(
        ReconcileIndex(
            world.container.memory_repository(), s["index"], world.container.embedder()
        ).execute()
    )


@then(parsers.parse('"{name}" finds "{content}" in the vector index'))
def finds_in_index(world: World, name: str, content: str) -> None:
    found = world.run(memory(world).retrieve(user_id(world, name), content, k=1, mode="dense"))
    assert not found.degraded and found.items[0].memory.content == content
