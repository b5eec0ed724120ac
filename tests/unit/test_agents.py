"""The agent runtime and the chat use-cases on the in-memory fakes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from dependency_injector import providers
from pydantic import BaseModel
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

from adapters.config.agents import YamlAgentSource
from adapters.inprocess.models import StaticModelSource
from adapters.inprocess.tools import InProcessToolStateStore
from application.agents.catalog import AgentCatalog
from application.agents.runner import AgentRunner, RunFinished, TextDelta
from application.tools.builtins import BUILTIN_TOOLS, current_time
from application.tools.registry import ToolRegistry
from container import Container
from domain.agents.events import ChatEventType, ErrorEvent
from domain.agents.models import AgentDefinition
from domain.conversations.models import MessageStatus
from domain.errors import (
    ConfigurationError,
    ModelUnavailable,
    NotFound,
    PayloadTooLarge,
    UsageLimitExceeded,
    ValidationFailed,
)
from entrypoints.rest.errors import http_status
from runtime import AppRuntime
from tests.conftest import make_container, make_settings
from tests.fakes import down_model, echo_model, user_texts


async def chat_container(model: Any = None, **settings: Any) -> tuple[Container, UUID]:
    container = make_container(make_settings(**settings))
    container.model_source.override(providers.Object(StaticModelSource(model or echo_model())))
    await AppRuntime(container).open()
    user = await container.register_user().execute("ada", "ada@example.com", "password123")
    return container, user.id


async def test_multi_turn_history_reaches_the_model() -> None:
    seen: list[list[str]] = []

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        seen.append(user_texts(messages))
        return ModelResponse(parts=[TextPart(f"reply {len(seen)}")])

    c, uid = await chat_container(FunctionModel(model_fn))
    first = await c.send_message().execute(uid, "assistant", "hello")
    second = await c.send_message().execute(uid, "assistant", "again", first.conversation_id)
    assert second.conversation_id == first.conversation_id
    assert seen == [["hello"], ["hello", "again"]]
    assert second.output == "reply 2" and second.usage.requests == 1
    page = await c.list_messages().execute(uid, first.conversation_id)
    assert [(m.role.value, m.content) for m in page.items] == [
        ("user", "hello"),
        ("assistant", "reply 1"),
        ("user", "again"),
        ("assistant", "reply 2"),
    ]
    assert page.items[1].usage["total_tokens"] > 0


async def test_tool_calls_are_stored_and_replayed() -> None:
    c, uid = await chat_container()
    turn = await c.send_message().execute(uid, "assistant", "what time is it?")
    assert turn.output.startswith("The time is ")
    assert [call["name"] for call in turn.tool_calls] == ["current_time"]
    assert turn.tool_calls[0]["args"] == {"timezone": "UTC"}
    again = await c.send_message().execute(uid, "assistant", "thanks", turn.conversation_id)
    assert again.output == "echo: thanks (turn 2)"


async def test_stream_emits_deltas_tool_events_then_done() -> None:
    c, uid = await chat_container()
    stream = await c.stream_message().execute(uid, "assistant", "what time is it?")
    events = [e async for e in stream]
    kinds = [e.type for e in events]
    assert kinds[0] is ChatEventType.TOOL_CALL and kinds[1] is ChatEventType.TOOL_RESULT
    assert kinds[-1] is ChatEventType.DONE and ChatEventType.DELTA in kinds
    text = "".join(e.text for e in events if e.type is ChatEventType.DELTA)
    assert text.startswith("The time is")
    done = events[-1]
    page = await c.list_messages().execute(uid, done.conversation_id)
    assert page.items[-1].id == done.message_id and page.items[-1].content == text


async def test_model_down_keeps_the_user_message_marked_failed() -> None:
    c, uid = await chat_container(down_model())
    with pytest.raises(ModelUnavailable) as info:
        await c.send_message().execute(uid, "assistant", "hello")
    assert info.value.retryable and http_status(info.value) == 503
    convs = await c.list_conversations().execute(uid)
    [only] = (await c.list_messages().execute(uid, convs.items[0].id)).items
    assert only.content == "hello" and only.status is MessageStatus.FAILED
    assert only.error is not None and only.error["code"] == "MODEL_UNAVAILABLE"


async def test_stream_model_down_ends_with_an_error_event() -> None:
    c, uid = await chat_container(down_model())
    events = [e async for e in await c.stream_message().execute(uid, "assistant", "hello")]
    [error] = events
    assert isinstance(error, ErrorEvent)
    assert error.code == "MODEL_UNAVAILABLE" and error.retryable is True
    assert error.message_id is not None  # the user's message, stored and marked failed
    page = await c.list_messages().execute(uid, error.conversation_id)
    assert [(m.id, m.status) for m in page.items] == [(error.message_id, MessageStatus.FAILED)]


async def test_a_client_gone_mid_stream_stores_no_half_reply() -> None:
    c, uid = await chat_container()
    stream = await c.stream_message().execute(uid, "assistant", "tell me a long story")
    assert isinstance(stream, AsyncIterator)
    first = await anext(stream)
    assert first.type is ChatEventType.DELTA
    await stream.aclose()  # type: ignore[attr-defined]
    page = await c.list_messages().execute(uid, first.conversation_id)
    assert [(m.role.value, m.status) for m in page.items] == [("user", MessageStatus.FAILED)]
    assert page.items[0].error == {
        "code": "CANCELLED",
        "message": "The turn was cancelled before it completed.",
    }


async def test_bad_input_is_refused_before_any_model_call() -> None:
    calls = 0

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        nonlocal calls
        calls += 1
        return ModelResponse(parts=[TextPart("x")])

    c, uid = await chat_container(FunctionModel(model_fn), agents={"max_message_chars": 10})
    with pytest.raises(PayloadTooLarge):
        await c.send_message().execute(uid, "assistant", "x" * 11)
    with pytest.raises(ValidationFailed):
        await c.send_message().execute(uid, "assistant", "   ")
    with pytest.raises(NotFound):
        await c.send_message().execute(uid, "nobody", "hi")
    with pytest.raises(NotFound):
        await c.send_message().execute(uid, "assistant", "hi", uuid4())
    assert calls == 0
    assert (await c.list_conversations().execute(uid)).items == []


async def test_another_users_conversation_cannot_be_continued() -> None:
    c, uid = await chat_container()
    turn = await c.send_message().execute(uid, "assistant", "mine")
    eve = await c.register_user().execute("eve", "eve@example.com", "password123")
    with pytest.raises(NotFound):
        await c.send_message().execute(eve.id, "assistant", "hijack", turn.conversation_id)
    assert len((await c.list_messages().execute(uid, turn.conversation_id)).items) == 2


async def test_usage_limit_is_a_clear_error() -> None:
    def always_tool(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        from pydantic_ai.messages import ToolCallPart

        return ModelResponse(parts=[ToolCallPart("current_time", {}, f"c{len(messages)}")])

    c, uid = await chat_container(FunctionModel(always_tool))
    with pytest.raises(UsageLimitExceeded):
        await c.send_message().execute(uid, "assistant", "loop forever")


class Answer(BaseModel):
    city: str
    confidence: float


async def test_typed_output_from_python() -> None:
    runner: AgentRunner[Answer] = AgentRunner(
        AgentDefinition(name="geo", instructions="Answer with a city."),
        output_type=Answer,
        model=TestModel(custom_output_args={"city": "Paris", "confidence": 0.9}),
    )
    runner.validate_dependencies()
    result = await runner.run_async("Capital of France?")
    assert result.output == Answer(city="Paris", confidence=0.9)
    items = [i async for i in runner.run_stream("again")]
    assert isinstance(items[-1], RunFinished) and items[-1].result.output.city == "Paris"
    assert runner.agent is runner.agent  # built once, reused


def test_sync_run_and_dependency_validation() -> None:
    runner: AgentRunner[str] = AgentRunner(AgentDefinition(name="echo"), model=echo_model())
    assert runner.run("hi").output == "echo: hi (turn 1)"
    with pytest.raises(ConfigurationError, match="no model"):
        AgentRunner(AgentDefinition(name="lonely")).validate_dependencies()
    with pytest.raises(ConfigurationError, match="unknown tools"):
        AgentRunner(
            AgentDefinition(name="xy"), model=echo_model(), unknown_tools=["nope"]
        ).validate_dependencies()


async def test_stream_items_from_the_framework() -> None:
    runner: AgentRunner[str] = AgentRunner(AgentDefinition(name="echo"), model=echo_model())
    items = [i async for i in runner.run_stream("hello there")]
    assert (
        "".join(i.text for i in items if isinstance(i, TextDelta)).strip()
        == "echo: hello there (turn 1)"
    )


def test_catalog_validates_definitions(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("name: helper\ntools: [current_time]\n")
    source = StaticModelSource(echo_model())
    registry = ToolRegistry(InProcessToolStateStore())
    for fn in BUILTIN_TOOLS:
        registry.register(fn)
    catalog = AgentCatalog(YamlAgentSource(tmp_path), source, registry)
    assert [d.name for d in catalog.all()] == ["helper"]
    assert catalog.get("helper") is catalog.get("helper")
    with pytest.raises(ConfigurationError, match="unknown tools"):
        catalog.register(AgentDefinition(name="bad", tools=("rm_rf",)))
    with pytest.raises(ConfigurationError, match="unknown output_type"):
        catalog.register(AgentDefinition(name="bad", output_type="Nope"))
    catalog.register_output_type("Answer", Answer)
    catalog.register(AgentDefinition(name="typed", output_type="Answer"))
    assert catalog.get("typed").output_type is Answer


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("name: Bad Name\n", "name"),
        ("name: ok\nlimits:\n  model_requests: 0\n", "limits.model_requests"),
        ("name: ok\nsurprise: 1\n", "surprise"),
        ("- just\n- a list\n", None),
        ("name: [unclosed\n", None),
    ],
)
def test_invalid_agent_files_name_the_file_and_field(
    tmp_path: Path, content: str, field: str | None
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as info:
        YamlAgentSource(tmp_path).load()
    assert str(path) in info.value.message
    if field:
        assert info.value.details["field"] == field


def test_duplicate_agent_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: same\n")
    (tmp_path / "b.yaml").write_text("name: same\n")
    with pytest.raises(ConfigurationError, match="already defined"):
        YamlAgentSource(tmp_path).load()


def test_shipped_agents_load() -> None:
    names = [d.name for d in YamlAgentSource("config/agents").load()]
    assert "assistant" in names


def test_current_time_tool() -> None:
    assert re.fullmatch(r"\S+\+00:00 \(\w+day\)", current_time("UTC"))
    assert "+09:00 (" in current_time("Asia/Tokyo")
    from pydantic_ai import ModelRetry

    with pytest.raises(ModelRetry):
        current_time("Mars/Olympus")


async def test_a_stream_never_read_leaves_no_trace() -> None:
    c, uid = await chat_container()
    stream = await c.stream_message().execute(uid, "assistant", "hello")
    await stream.aclose()  # type: ignore[attr-defined]
    assert (await c.list_conversations().execute(uid)).items == []


async def test_a_failed_first_turn_says_which_conversation_it_made() -> None:
    c, uid = await chat_container(down_model())
    with pytest.raises(ModelUnavailable) as info:
        await c.send_message().execute(uid, "assistant", "hello")
    [conv] = (await c.list_conversations().execute(uid)).items
    assert info.value.details["conversation_id"] == str(conv.id)
