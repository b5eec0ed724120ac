"""Time to first token: a direct `run_stream` on the model vs the same turn over SSE
(`POST /agents/{name}/stream`, in process over ASGI, through auth, persistence and
the event relay). The model streams instantly, so the difference is the framework's."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
from asgi_lifespan import LifespanManager
from dependency_injector import providers
from pydantic_ai.messages import ModelMessage
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.memory.models import StaticModelSource
from application.agents.framework import BaseAgentFramework, TextDelta
from bench.harness import Row, Timing
from domain.agents.models import AgentDefinition
from entrypoints.rest.app import create_app
from tests.conftest import make_container, make_settings

N = 200


async def words(messages: list[ModelMessage], _info: AgentInfo) -> AsyncIterator[str]:
    for word in ("hello ", "there ", "friend"):
        yield word


async def run() -> list[Row]:
    model = FunctionModel(stream_function=words)
    direct = BaseAgentFramework[str](AgentDefinition(name="bench"), model=model)

    async def direct_ttft() -> float:
        started = time.perf_counter()
        stream = direct.run_stream("hi")
        first = 0.0
        async for item in stream:
            if isinstance(item, TextDelta) and not first:
                first = time.perf_counter() - started
        return first

    container = make_container(make_settings())
    container.model_source.override(providers.Object(StaticModelSource(model)))
    app = create_app(container, configure_logs=False)
    sse: list[float] = []
    base: list[float] = []
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://bench"
        ) as http,
    ):
        creds = {"username": "bench", "password": "password123"}
        await http.post("/api/v1/auth/register", json={**creds, "email": "b@example.com"})
        token = (await http.post("/api/v1/auth/login", json=creds)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for i in range(N + 20):
            base_t = await direct_ttft()
            started = time.perf_counter()
            first = 0.0
            async with http.stream(
                "POST", "/api/v1/agents/assistant/stream", json={"message": "hi"}, headers=headers
            ) as response:
                async for line in response.aiter_lines():
                    if line.startswith("event: delta") and not first:
                        first = time.perf_counter() - started
            if i >= 20:  # warm-up done
                sse.append(first)
                base.append(base_t)
    return [
        Row(
            "time to first token over SSE (in-process ASGI)",
            Timing(sse),
            Timing(base),
            "direct run_stream, same model",
            "auth + store user message + relay; goal < 5 ms added",
        )
    ]
