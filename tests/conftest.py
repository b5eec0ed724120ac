"""Shared fixtures: settings per profile, a container, and an app driven in-process."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from dependency_injector import providers

from adapters.inprocess.health import InProcessHealth
from adapters.settings import Settings, load_settings
from container import Container
from entrypoints.rest.app import create_app
from tests.fakes import HashEmbedder

TEST_AGENTS = Path(__file__).parent / "fixtures" / "agents"  # assistant + current_time
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MAI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mai_test")
REDIS_URL = os.environ.get("MAI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def make_settings(tmp_path: Any = None, **overrides: Any) -> Settings:
    """Settings for tests: in-memory fakes, fast bcrypt, a fixed JWT key."""
    base: dict[str, Any] = {
        "environment": "test",
        "database": {"url": "memory://"},
        "redis": {"url": "memory://"},
        "jwt": {"secret_key": TEST_SECRET},
        "security": {"bcrypt_rounds": 4},
        "log": {"level": "WARNING", "format": "console"},
        "agents": {"dir": str(TEST_AGENTS)},
        "memory": {"vector_backend": "memory"},
        "limits": {"enabled": False},  # suites sign in often; tests/api/test_protection.py
    }
    if tmp_path is not None:
        base["data_dir"] = str(tmp_path)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return load_settings(**base)


def make_container(settings: Settings) -> Container:
    """A container on `settings`. The LLM is whatever a test puts in `model_source` (a
    FunctionModel in process), so its health is the in-process kind."""
    container = Container()
    container.settings.override(providers.Object(settings))
    # A deterministic bag-of-words embedder: no model to load in every test's container.
    container.embedder.override(providers.Object(HashEmbedder(dim=settings.memory.embedding_dim)))
    container.llm_health.override(
        providers.Object(InProcessHealth("llm", "in-process", required=False))
    )
    return container


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def container(settings: Settings) -> Container:
    return make_container(settings)


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container, configure_logs=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


class Api:
    """Small helpers for tests that drive the REST API as a user would."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def register(self, username: str, password: str = "password123") -> dict[str, Any]:
        r = await self.http.post(
            "/api/v1/auth/register",
            json={"username": username, "email": f"{username}@example.com", "password": password},
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def login(self, username: str, password: str = "password123") -> dict[str, Any]:
        r = await self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def signup(self, username: str) -> dict[str, str]:
        """Register and log in; returns the Authorization header."""
        await self.register(username)
        tokens = await self.login(username)
        return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)
