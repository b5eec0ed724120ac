"""Fake chat models (Pydantic AI `FunctionModel`s) with predictable behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic_ai.exceptions import ModelConnectionError
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel


def last_user_text(messages: list[ModelMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


def user_texts(messages: list[ModelMessage]) -> list[str]:
    return [
        p.content
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, UserPromptPart) and isinstance(p.content, str)
    ]


def _tool_result(messages: list[ModelMessage]) -> str | None:
    last = messages[-1]
    if isinstance(last, ModelRequest):
        for part in last.parts:
            if isinstance(part, ToolReturnPart):
                return str(part.content)
    return None


def reply_for(messages: list[ModelMessage]) -> str:
    """ "echo: <message> (turn N)", or the tool's answer after a tool call."""
    result = _tool_result(messages)
    if result is not None:
        return f"The time is {result}."
    return f"echo: {last_user_text(messages)} (turn {len(user_texts(messages))})"


def wants_tool(messages: list[ModelMessage]) -> bool:
    return "time" in last_user_text(messages) and _tool_result(messages) is None


def echo(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
    if wants_tool(messages):
        return ModelResponse(parts=[ToolCallPart("current_time", {"timezone": "UTC"}, "call-1")])
    return ModelResponse(parts=[TextPart(reply_for(messages))])


async def echo_stream(
    messages: list[ModelMessage], _info: AgentInfo
) -> AsyncIterator[str | DeltaToolCalls]:
    if wants_tool(messages):
        yield {
            0: DeltaToolCall(
                name="current_time", json_args='{"timezone": "UTC"}', tool_call_id="call-1"
            )
        }
        return
    for word in reply_for(messages).split(" "):
        yield word + " "


def echo_model() -> FunctionModel:
    return FunctionModel(echo, stream_function=echo_stream, model_name="echo")


def _down(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
    raise ModelConnectionError("down", "connection refused")


async def _down_stream(messages: list[ModelMessage], _info: AgentInfo) -> AsyncIterator[str]:
    raise ModelConnectionError("down", "connection refused")
    yield ""  # pragma: no cover  (makes this an async generator)


def down_model() -> FunctionModel:
    """A model whose server is unreachable."""
    return FunctionModel(_down, stream_function=_down_stream, model_name="down")
