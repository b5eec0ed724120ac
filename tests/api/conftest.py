"""Chat fixtures for the API tests: a scripted chat model in place of the LLM server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import providers
from pydantic_ai.exceptions import ModelConnectionError
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    TextPart,
    ToolCallPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

from adapters.inprocess.models import StaticModelSource
from adapters.settings import Settings
from container import Container
from entrypoints.rest.app import create_app
from tests.conftest import make_container
from tests.fakes import tool_result, user_texts


class FakeLLM:
    """A `FunctionModel` with a script: "echo: <message> (turn N)" where N counts the user
    messages it was shown (so history is visible); a message mentioning "time" first calls
    the `current_time` tool, then answers "The time is <result>.".

    `down` makes every request fail as an unreachable server would; `stall`, when set,
    holds a streamed answer after its first word until the event is set.
    """

    def __init__(self) -> None:
        self.seen: list[list[ModelMessage]] = []  # the messages of every model request
        self.down = False
        self.stall: asyncio.Event | None = None
        self.model = FunctionModel(self._respond, stream_function=self._stream, model_name="fake")

    def _reply(self, messages: list[ModelMessage]) -> str:
        result = tool_result(messages)
        if result is not None:
            return f"The time is {result}."
        texts = user_texts(messages)
        return f"echo: {texts[-1] if texts else ''} (turn {len(texts)})"

    def _wants_tool(self, messages: list[ModelMessage]) -> bool:
        texts = user_texts(messages)
        return bool(texts) and "time" in texts[-1] and tool_result(messages) is None

    def _record(self, messages: list[ModelMessage]) -> None:
        self.seen.append(list(messages))
        if self.down:
            raise ModelConnectionError("fake", "connection refused")

    def _respond(self, messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        self._record(messages)
        if self._wants_tool(messages):
            call = ToolCallPart("current_time", {"timezone": "UTC"}, "call-1")
            return ModelResponse(parts=[call])
        return ModelResponse(parts=[TextPart(self._reply(messages))])

    async def _stream(
        self, messages: list[ModelMessage], _info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        self._record(messages)
        if self._wants_tool(messages):
            args = '{"timezone": "UTC"}'
            yield {0: DeltaToolCall(name="current_time", json_args=args, tool_call_id="call-1")}
            return
        for i, word in enumerate(self._reply(messages).split(" ")):
            yield word if i == 0 else " " + word
            if self.stall is not None:
                await self.stall.wait()


@pytest.fixture
def llm() -> FakeLLM:
    return FakeLLM()


def with_model(container: Container, model: Any) -> Container:
    container.model_source.override(providers.Object(StaticModelSource(model)))
    return container


@pytest.fixture
def container(settings: Settings, llm: FakeLLM) -> Container:
    return with_model(make_container(settings), llm.model)


@asynccontextmanager
async def running(container: Container) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The app (started) and an HTTP client on it, for tests that need the ASGI app itself."""
    app = create_app(container, configure_logs=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield manager.app, http


def parse_sse(body: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream body; comments (pings) are skipped."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


def sse_json(body: str) -> list[tuple[str, Any]]:
    return [(name, json.loads(data)) for name, data in parse_sse(body)]
