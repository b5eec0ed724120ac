"""The server a load run drives (`bench/load.py`): a real uvicorn on a free loopback port,
on the in-memory or embedded profile, with a fast fake model; and the users it signs up."""

from __future__ import annotations

import asyncio
import resource
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from dependency_injector import providers
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.models import StaticModelSource
from entrypoints.rest.app import create_app
from tests.conftest import make_container, make_settings

AGENT = "assistant"
PASSWORD = "password123"
REPLY_CHUNKS = ("Sure, ", "here is ", "a short ", "answer.")


def fake_model() -> FunctionModel:
    """A fast model: a fixed short reply, streamed in a few chunks, no sleeps."""

    def respond(_messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart("".join(REPLY_CHUNKS))])

    async def stream(_messages: list[ModelMessage], _info: AgentInfo) -> AsyncIterator[str]:
        for chunk in REPLY_CHUNKS:
            yield chunk

    return FunctionModel(respond, stream_function=stream, model_name="load-fake")


def raise_nofile(wanted: int) -> int:
    """Lift the soft open-file limit towards `wanted` (up to the hard limit); the new soft
    limit. Each subscription costs two descriptors here (client and server end)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(profile: str, data_dir: Path) -> AsyncIterator[str]:
    """A started uvicorn on a free loopback port; yields its base URL."""
    if profile == "memory":
        settings = make_settings(data_dir)
    elif profile == "embedded":
        from adapters.sql.migrate import upgrade

        url = f"sqlite+aiosqlite:///{data_dir / 'mai.db'}"
        await upgrade(url)
        settings = make_settings(
            data_dir, database={"url": url}, memory={"vector_backend": "qdrant-edge"}
        )
    else:
        raise ValueError(f"unknown profile {profile!r} (memory | embedded)")
    container = make_container(settings)
    container.model_source.override(providers.Object(StaticModelSource(fake_model())))
    port = free_port()
    config = uvicorn.Config(
        create_app(container, configure_logs=False),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        limit_concurrency=None,  # uvicorn's default too: no cap on connections or tasks
        backlog=2048,
        ws_ping_interval=None,  # no keep-alive pings in a bounded run
    )
    server = uvicorn.Server(config)

    async def serving() -> None:
        try:
            await server.serve()
        except SystemExit as exc:  # uvicorn exits on a failed start-up: a plain error here
            raise RuntimeError(f"uvicorn failed to start (exit {exc.code}); see the log") from None

    task = asyncio.create_task(serving())
    while not server.started:  # uvicorn exposes no event for this
        if task.done():
            await task  # start-up failed: raise its error
            raise RuntimeError("uvicorn stopped during start-up")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def sign_up(http: httpx.AsyncClient, users: int) -> list[str]:
    """Register and log in `users` users; their access tokens."""

    async def one(i: int) -> str:
        name = f"load{i:04d}"
        r = await http.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        )
        r.raise_for_status()
        r = await http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        r.raise_for_status()
        return str(r.json()["access_token"])

    return list(await asyncio.gather(*(one(i) for i in range(users))))
