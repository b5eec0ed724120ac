from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from dependency_injector import providers
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.inprocess.models import StaticModelSource
from domain.agents.models import AgentDefinition, HistoryPolicy
from domain.conversations.models import Message
from domain.memory.errors import CacheUnavailable
from tests.fakes import echo, echo_stream, user_texts
from tests.step_defs.chat_steps import Chat, send
from tests.step_defs.conftest import World

scenarios("memory/short_term.feature")


@dataclass
class Brief:
    """The scenario's agent and every message history its model was sent."""

    agent: str = "assistant"
    seen: list[list[ModelMessage]] = field(default_factory=list)


@pytest.fixture
def brief() -> Brief:
    return Brief()


@given(parsers.parse('an agent "{name}" that sees at most {n:d} messages'))
def brief_agent(world: World, brief: Brief, name: str, n: int) -> None:
    record = brief.seen

    def model_fn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        record.append(list(messages))
        return echo(messages, info)

    world.container.model_source.override(
        providers.Object(StaticModelSource(FunctionModel(model_fn, stream_function=echo_stream)))
    )
    world.container.agent_catalog.reset()
    world.container.agent_catalog().register(
        AgentDefinition(name=name, tools=("current_time",), history=HistoryPolicy(max_messages=n))
    )
    brief.agent = name


class StubSummarizer:
    async def summarize(self, previous: str | None, messages: list[Message]) -> str:
        return f"{previous or ''} {len(messages)} earlier messages".strip()


@given("summaries are written by a test summarizer")
def stub_summarizer(world: World, brief: Brief) -> None:
    world.container.summarizer.override(providers.Object(StubSummarizer()))
    world.container.conversation_window.reset()
    world.container.agent_catalog.reset()
    brief_agent(world, brief, brief.agent, 4)


@when(parsers.parse('"{name}" has a conversation of {turns:d} turns with "{agent}"'))
def many_turns(world: World, chat: Chat, name: str, turns: int, agent: str) -> None:
    for i in range(turns):
        send(world, chat, name, f"message {i}", chat.conversation_id, agent)
        world.run(world.container.background_tasks().drain())  # the summary, if any


@when(parsers.parse('"{name}" says "{message}" in the same conversation'))
def says_again(world: World, chat: Chat, brief: Brief, name: str, message: str) -> None:
    send(world, chat, name, message, chat.conversation_id, brief.agent)


class DownWindows:
    async def load(self, conversation_id: UUID) -> Any:
        raise CacheUnavailable("cache down")

    async def save(self, *args: Any, **kw: Any) -> None:
        raise CacheUnavailable("cache down")

    async def append(self, *args: Any, **kw: Any) -> bool:
        raise CacheUnavailable("cache down")

    async def invalidate(self, conversation_id: UUID) -> None:
        raise CacheUnavailable("cache down")


@when("the conversation cache goes down")
def cache_down(world: World) -> None:
    world.container.window_store.override(providers.Object(DownWindows()))
    world.container.conversation_window.reset()


@then(parsers.parse("the model saw at most {n:d} earlier messages on the last turn"))
def saw_at_most(brief: Brief, n: int) -> None:
    last = brief.seen[-1]
    assert len(last) - 1 <= n  # every earlier request/response, not counting the new prompt


@then("the model saw a summary of the earlier conversation")
def saw_summary(brief: Brief) -> None:
    notes = [
        p.content
        for m in brief.seen[-1]
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, SystemPromptPart)
    ]
    assert any("earlier messages" in n for n in notes), notes


@then("the model saw the tool call together with its result")
def saw_tool_pair(brief: Brief) -> None:
    last = brief.seen[-1]
    calls = {
        p.tool_call_id
        for m in last
        if isinstance(m, ModelResponse)
        for p in m.parts
        if isinstance(p, ToolCallPart)
    }
    returns = {
        p.tool_call_id
        for m in last
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart)
    }
    assert calls and calls == returns
    assert "what time is it?" in user_texts(last)
