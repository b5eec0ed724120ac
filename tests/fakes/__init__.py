"""Fakes shared by the suites: chat models (Pydantic AI `FunctionModel`s) with predictable
behaviour, a hash embedder and a flaky memory index. The one test clock is in `clock.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from uuid import UUID

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

from domain.errors import ServiceUnavailable
from domain.health import AdapterHealth
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.long_term_ports import IndexedVector, VectorHit


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


def tool_result(messages: list[ModelMessage]) -> str | None:
    last = messages[-1]
    if isinstance(last, ModelRequest):
        for part in last.parts:
            if isinstance(part, ToolReturnPart):
                return str(part.content)
    return None


def reply_for(messages: list[ModelMessage]) -> str:
    """ "echo: <message> (turn N)", or the tool's answer after a tool call."""
    result = tool_result(messages)
    if result is not None:
        return f"The time is {result}."
    return f"echo: {last_user_text(messages)} (turn {len(user_texts(messages))})"


def wants_tool(messages: list[ModelMessage]) -> bool:
    return "time" in last_user_text(messages) and tool_result(messages) is None


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
    """Deterministic bag-of-words embedder (each word hashed into two of `dim` buckets, so
    two words rarely look alike; L2-normalised):
    texts sharing words are close. For tests only; no model, no I/O."""

    def __init__(self, dim: int = 64, model_name: str = "hash-bow") -> None:
        self.dim = dim
        self.model_name = model_name
        self.down = False
        self.calls = 0

    def _vec(self, text: str) -> list[float]:
        import hashlib
        import math
        import re

        v = [0.0] * self.dim
        for word in re.findall(r"\w+", text.lower()):
            digest = int(hashlib.md5(word.encode()).hexdigest(), 16)
            for bucket in (digest % self.dim, (digest >> 64) % self.dim):  # two: rare clashes
                v[bucket] += 1.0
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    async def embed_query(self, text: str) -> list[float]:
        return (await self.embed_documents([text]))[0]

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:  # type: ignore[override]
        self.calls += 1
        if self.down:
            raise ConnectionError("embedder down")
        return [self._vec(t) for t in texts]


class FlakyIndex:
    """A brute-force index that can be switched off, like a vector index outage."""

    name = "flaky"

    def __init__(self) -> None:
        self.points: dict[UUID, IndexedVector] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ServiceUnavailable("index down")

    async def ensure_ready(self, dim: int) -> None:
        self._check()

    async def upsert(self, items: Sequence[IndexedVector]) -> None:
        self._check()
        self.points.update({i.id: i for i in items})

    async def search(
        self, user_id: UUID, vector: Sequence[float], k: int, where: MemoryFilter = ANY_MEMORY
    ) -> list[VectorHit]:
        self._check()
        hits = [
            VectorHit(p.id, sum(a * b for a, b in zip(p.vector, vector, strict=True)))
            for p in self.points.values()
            if p.user_id == user_id
            and all(p.payload.get(f) == v for f, v in where.payload().items())
        ]
        return sorted(hits, key=lambda h: -h.similarity)[:k]

    async def delete(self, user_id: UUID, ids: Sequence[UUID]) -> None:
        self._check()
        for i in ids:
            if i in self.points and self.points[i].user_id == user_id:
                del self.points[i]

    async def delete_user(self, user_id: UUID) -> None:
        self._check()
        self.points = {i: p for i, p in self.points.items() if p.user_id != user_id}

    async def count(self, user_id: UUID | None = None) -> int:
        return sum(1 for p in self.points.values() if user_id is None or p.user_id == user_id)

    async def check(self) -> AdapterHealth:
        return AdapterHealth("vector_index", not self.down, "flaky", required=False)
