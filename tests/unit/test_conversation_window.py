"""Short-term memory wired into chat: budgets, summaries, cache round trips and outages."""

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
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.models import StaticModelSource
from adapters.inprocess.window import InProcessWindowStore
from container import Container
from domain.agents.models import AgentDefinition, HistoryPolicy
from domain.conversations.models import Message
from runtime import AppRuntime
from tests.conftest import make_container, make_settings
from tests.fakes import user_texts


class Counting(InProcessWindowStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def load(self, conversation_id: UUID) -> Any:
        self.calls.append("load")
        return await super().load(conversation_id)

    async def append(self, *args: Any, **kw: Any) -> bool:
        self.calls.append("append")
        return await super().append(*args, **kw)

    async def save(self, *args: Any, **kw: Any) -> None:
        self.calls.append("save")
        await super().save(*args, **kw)


class FakeSummarizer:
    def __init__(self) -> None:
        self.calls = 0

    async def summarize(self, previous: str | None, messages: list[Message]) -> str:
        self.calls += 1
        return f"{previous or ''}[{len(messages)} folded]"


async def setup(
    **settings: Any,
) -> tuple[Container, UUID, list[list[ModelMessage]], Counting, FakeSummarizer]:
    seen: list[list[ModelMessage]] = []

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        seen.append(messages)
        return ModelResponse(parts=[TextPart(f"reply {len(seen)}")])

    c = make_container(make_settings(**settings))
    c.model_source.override(providers.Object(StaticModelSource(FunctionModel(model_fn))))
    store, summarizer = Counting(), FakeSummarizer()
    c.window_store.override(providers.Object(store))
    c.summarizer.override(providers.Object(summarizer))
    await AppRuntime(c).open()
    c.agent_catalog().register(
        AgentDefinition(name="short", history=HistoryPolicy(max_messages=4, max_tokens=4000))
    )
    user = await c.register_user().execute("ada", "ada@example.com", "password123")
    return c, user.id, seen, store, summarizer


async def test_window_stays_within_budget_and_summary_appears() -> None:
    c, uid, seen, _, summarizer = await setup()
    send = c.send_message()
    first = await send.execute(uid, "short", "message 0")
    for i in range(1, 12):
        await send.execute(uid, "short", f"message {i}", first.conversation_id)
        await c.background_tasks().drain()
    last = seen[-1]
    assert len(user_texts(last)) <= 3  # 4 history messages (2 turns) + the new one
    assert summarizer.calls >= 1
    system = [
        p.content
        for m in last
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, SystemPromptPart)
    ]
    assert any("folded" in s for s in system)
    stored = await c.list_messages().execute(uid, first.conversation_id, limit=100)
    assert len(stored.items) == 24  # the database keeps everything


async def test_one_cache_read_and_one_write_per_turn() -> None:
    c, uid, _, store, _ = await setup()
    # a 10-message history: no fold in these turns (a fold adds one load + save after it)
    c.agent_catalog().register(AgentDefinition(name="roomy"))
    send = c.send_message()
    first = await send.execute(uid, "roomy", "hello")
    await send.execute(uid, "roomy", "again", first.conversation_id)  # miss: rebuilds once
    store.calls.clear()
    await send.execute(uid, "roomy", "third", first.conversation_id)
    assert store.calls == ["load", "append"]


async def test_cache_down_serves_the_turn_from_the_database() -> None:
    c = make_container(make_settings(redis={"url": "redis://127.0.0.1:1/0"}))
    seen: list[list[ModelMessage]] = []

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        seen.append(messages)
        return ModelResponse(parts=[TextPart("ok")])

    c.model_source.override(providers.Object(StaticModelSource(FunctionModel(model_fn))))
    await AppRuntime(c).open()
    user = await c.register_user().execute("ada", "ada@example.com", "password123")
    first = await c.send_message().execute(user.id, "assistant", "remember blue")
    second = await c.send_message().execute(
        user.id, "assistant", "what colour?", first.conversation_id
    )
    assert second.output == "ok"
    assert user_texts(seen[-1]) == ["remember blue", "what colour?"]
    ready = await c.check_readiness().execute()
    assert ready.ready and ready.degraded  # the cache is optional: degraded, not down
