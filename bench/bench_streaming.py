"""Time to first token: a direct `run_stream` on the model vs the same turn over SSE
(`POST /agents/{name}/stream`, in process over ASGI) and over the GraphQL `chat`
subscription (a real uvicorn on loopback, graphql-transport-ws), each through auth,
persistence and the event relay. The model streams instantly, so the difference is the
framework's (and, for GraphQL, a loopback WebSocket's)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from asgi_lifespan import LifespanManager
from dependency_injector import providers
from pydantic_ai.messages import ModelMessage
from pydantic_ai.models.function import AgentInfo, FunctionModel
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from adapters.inprocess.models import StaticModelSource
from application.agents.runner import AgentRunner, TextDelta
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
    direct = AgentRunner[str](AgentDefinition(name="bench"), model=model)

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
    graphql, graphql_base = await _graphql_ttft(
        app_factory=lambda: create_app(container, configure_logs=False),
        token=token,
        direct=direct_ttft,
    )
    return [
        Row(
            "time to first token over the GraphQL subscription (uvicorn, loopback WS)",
            Timing(graphql),
            Timing(graphql_base),
            "direct run_stream, same model",
            "connection_init auth once; subscribe per turn",
        ),
        Row(
            "time to first token over SSE (in-process ASGI)",
            Timing(sse),
            Timing(base),
            "direct run_stream, same model",
            "auth + store user message + relay; goal < 5 ms added",
        ),
    ]


async def _graphql_ttft(
    app_factory: Any, token: str, direct: Any
) -> tuple[list[float], list[float]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app_factory(), host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn exposes no event for this  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    query = 'subscription { chat(agent: "assistant", message: "hi") { type text } }'
    samples: list[float] = []
    base: list[float] = []
    try:
        async with connect(
            f"ws://127.0.0.1:{port}/graphql", subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(
                json.dumps(
                    {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                )
            )
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for i in range(N + 20):
                base_t = await direct()
                started = time.perf_counter()
                first = 0.0
                await ws.send(
                    json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": query}})
                )
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "complete":
                        break
                    if not first and frame["payload"]["data"]["chat"]["type"] == "DELTA":
                        first = time.perf_counter() - started
                if i >= 20:
                    samples.append(first)
                    base.append(base_t)
    finally:
        server.should_exit = True
        await task
    return samples, base
