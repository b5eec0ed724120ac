"""Agents use long-term memory: recall into the turn, remember/recall tools, episodes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from dependency_injector import providers
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.models import StaticModelSource
from application.memory import NewMemory
from container import Container
from domain.agents.models import AgentDefinition, HistoryPolicy, MemoryPolicy
from domain.memory.long_term import MemoryKind
from runtime import AppRuntime
from tests.conftest import make_container, make_settings
from tests.fakes import last_user_text


def notes(messages: list[ModelMessage]) -> str:
    """System notes and the turn's own message (where the prefix-cache layout puts
    recalled memories)."""
    return " ".join(
        [
            *(
                p.content
                for m in messages
                if isinstance(m, ModelRequest)
                for p in m.parts
                if isinstance(p, SystemPromptPart)
            ),
            last_user_text(messages),
        ]
    )


async def setup(model_fn: Any) -> tuple[Container, UUID, UUID]:
    c = make_container(make_settings())
    c.model_source.override(providers.Object(StaticModelSource(FunctionModel(model_fn))))
    await AppRuntime(c).open()
    c.agent_catalog().register(
        AgentDefinition(
            name="rememberer",
            tools=("recall_memory", "remember"),
            memory=MemoryPolicy(recall_k=3, episodes=True),
        )
    )
    ada = await c.register_user().execute("ada", "ada@example.com", "password123")
    eve = await c.register_user().execute("eve", "eve@example.com", "password123")
    return c, ada.id, eve.id


async def settle(c: Container) -> None:
    await c.background_tasks().drain()  # the memory written after the turn


async def test_relevant_memories_are_recalled_into_the_turn_for_their_owner_only() -> None:
    seen: list[str] = []

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        seen.append(notes(messages))
        return ModelResponse(parts=[TextPart("ok")])

    c, ada, eve = await setup(model_fn)
    await c.long_term_memory().store(
        ada, NewMemory("Ada's favourite colour is teal", MemoryKind.FACT)
    )
    await c.send_message().execute(ada, "rememberer", "what is my favourite colour?")
    assert "teal" in seen[-1]
    await c.send_message().execute(eve, "rememberer", "what is my favourite colour?")
    assert "teal" not in seen[-1]


async def test_each_turn_is_remembered_as_an_episode() -> None:
    c, ada, _ = await setup(lambda m, i: ModelResponse(parts=[TextPart("Lisbon is lovely.")]))
    turn = await c.send_message().execute(ada, "rememberer", "I am flying to Lisbon")
    await settle(c)
    recent = (await c.long_term_memory().get_recent(ada)).items
    episode = [m for m in recent if m.kind is MemoryKind.EPISODIC]
    assert episode and "I am flying to Lisbon" in episode[0].content
    assert episode[0].source_conversation_id == turn.conversation_id


async def test_the_agent_remembers_and_recalls_through_tools() -> None:
    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        if isinstance(last, ModelRequest) and any(
            isinstance(p, ToolReturnPart) for p in last.parts
        ):
            result = next(p.content for p in last.parts if isinstance(p, ToolReturnPart))
            return ModelResponse(parts=[TextPart(f"tool said: {result}")])
        text = last_user_text(messages)
        if text.startswith("remember"):
            return ModelResponse(
                parts=[ToolCallPart("remember", {"content": "Ada's dog is Rex"}, "r1")]
            )
        return ModelResponse(parts=[ToolCallPart("recall_memory", {"query": "dog"}, "q1")])

    c, ada, eve = await setup(model_fn)
    saved = await c.send_message().execute(ada, "rememberer", "remember my dog")
    assert saved.output == "tool said: Remembered."
    recalled = await c.send_message().execute(ada, "rememberer", "what is my dog called?")
    assert "Rex" in recalled.output
    other = await c.send_message().execute(eve, "rememberer", "what is my dog called?")
    assert "Rex" not in other.output


async def test_without_the_index_chat_runs_without_long_term_memory() -> None:
    c = make_container(make_settings())
    c.model_source.override(
        providers.Object(
            StaticModelSource(FunctionModel(lambda m, i: ModelResponse(parts=[TextPart("ok")])))
        )
    )
    await AppRuntime(c, memory=False).open()
    c.agent_catalog().register(
        AgentDefinition(name="rememberer", memory=MemoryPolicy(recall_k=3, episodes=True))
    )
    user = await c.register_user().execute("ada", "ada@example.com", "password123")
    turn = await c.send_message().execute(user.id, "rememberer", "hello")
    assert turn.output == "ok"


async def test_facts_are_extracted_after_the_turn_and_never_duplicated() -> None:
    def model_fn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if info.output_tools:  # the fact extractor asks for structured output
            facts = {"facts": ["Ada's sister Lena lives in Porto."], "preferences": []}
            return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, facts, "f1")])
        return ModelResponse(parts=[TextPart("How lovely!")])

    c, ada, _ = await setup(model_fn)
    c.agent_catalog().register(
        AgentDefinition(name="extractor", memory=MemoryPolicy(extract_facts=True))
    )
    for _ in range(2):  # the same fact twice: stored once
        await c.send_message().execute(ada, "extractor", "My sister Lena lives in Porto")
        await settle(c)
    recent = (await c.long_term_memory().get_recent(ada)).items
    assert [(m.kind, m.content) for m in recent] == [
        (MemoryKind.FACT, "Ada's sister Lena lives in Porto.")
    ]


async def test_recalled_memories_follow_the_history_in_the_turns_own_message() -> None:
    seen: list[list[ModelMessage]] = []

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        seen.append(messages)
        return ModelResponse(parts=[TextPart("ok")])

    c, ada, _ = await setup(model_fn)
    await c.long_term_memory().store(
        ada, NewMemory("Ada's favourite colour is teal", MemoryKind.FACT)
    )
    first = await c.send_message().execute(ada, "rememberer", "hello there")
    await settle(c)
    await c.send_message().execute(
        ada, "rememberer", "what is my favourite colour?", first.conversation_id
    )
    history, turn = seen[-1][:-1], seen[-1][-1]
    assert "teal" not in notes(history)  # nothing recalled sits before the history
    assert "hello there" in notes(history[:1])  # the history opens the request
    asked = last_user_text([turn])
    assert "teal" in asked and asked.endswith("what is my favourite colour?")
    # this conversation's own episode is already in the history: not recalled again
    assert asked.count("hello there") == 0


async def test_the_sliding_layout_keeps_memories_before_the_history() -> None:
    seen: list[list[ModelMessage]] = []

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        seen.append(messages)
        return ModelResponse(parts=[TextPart("ok")])

    c, ada, _ = await setup(model_fn)
    c.agent_catalog().register(
        AgentDefinition(
            name="slider",
            memory=MemoryPolicy(recall_k=3),
            history=HistoryPolicy(layout="sliding"),
        )
    )
    await c.long_term_memory().store(
        ada, NewMemory("Ada's favourite colour is teal", MemoryKind.FACT)
    )
    await c.send_message().execute(ada, "slider", "what is my favourite colour?")
    assert "teal" in notes(seen[-1][:1])
    assert last_user_text(seen[-1]) == "what is my favourite colour?"


async def test_closing_the_runtime_waits_for_the_memory_written_after_a_turn() -> None:
    c = make_container(make_settings())
    reply = FunctionModel(lambda m, i: ModelResponse(parts=[TextPart("Lisbon is lovely.")]))
    c.model_source.override(providers.Object(StaticModelSource(reply)))
    async with AppRuntime(c):
        c.agent_catalog().register(
            AgentDefinition(name="rememberer", memory=MemoryPolicy(recall_k=0, episodes=True))
        )
        ada = await c.register_user().execute("ada", "ada@example.com", "password123")
        await c.send_message().execute(ada.id, "rememberer", "I am flying to Lisbon")
        # `mai chat "…"` ends here: the episode is still to be written
    recent = (await c.long_term_memory().get_recent(ada.id)).items
    assert [m.kind for m in recent] == [MemoryKind.EPISODIC]
    assert "I am flying to Lisbon" in recent[0].content
