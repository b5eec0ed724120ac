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


class HashEmbedder:
    """Deterministic bag-of-words embedder (hashed into `dim` buckets, L2-normalised):
    texts sharing words are close. For tests only; no model, no I/O."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.down = False
        self.calls = 0

    def _vec(self, text: str) -> list[float]:
        import hashlib
        import math
        import re

        v = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0  # noqa: S324
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embed_documents([text]))[0]

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:  # type: ignore[override]
        self.calls += 1
        if self.down:
            raise ConnectionError("embedder down")
        return [self._vec(t) for t in texts]
