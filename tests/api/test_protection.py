"""API protection: rate limits on auth and chat, security headers, GraphQL in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from container import Container
from entrypoints.rest.app import create_app
from tests.api.conftest import FakeLLM, with_model
from tests.conftest import Api, make_container, make_settings


async def started(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container, configure_logs=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=("203.0.113.7", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.fixture
async def limited(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path,
        limits={
            "enabled": True,
            "login_per_user": {"calls": 3, "period": 60},
            "login_per_ip": {"calls": 100, "period": 60},
            "chat_per_user": {"calls": 2, "period": 60},
            "register_per_ip": {"calls": 4, "period": 60},
        },
    )
    async for http in started(with_model(make_container(settings), llm.model)):
        yield http


async def test_login_attempts_are_throttled_per_account(limited: httpx.AsyncClient) -> None:
    api = Api(limited)
    await api.register("ada")
    for _ in range(2):
        r = await limited.post(
            "/api/v1/auth/login", json={"username": "ada", "password": "wrong-password-1"}
        )
        assert r.status_code == 401
    assert (
        await limited.post(
            "/api/v1/auth/login", json={"username": "ADA", "password": "password123"}
        )
    ).status_code == 200  # the third attempt (usernames count case-insensitively)
    r = await limited.post(
        "/api/v1/auth/login", json={"username": "ada", "password": "password123"}
    )
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "RATE_LIMITED" and r.json()["error"]["retryable"] is True
    assert 1 <= int(r.headers["Retry-After"]) <= 60


async def test_registrations_per_address_and_chat_turns_per_user(
    limited: httpx.AsyncClient,
) -> None:
    api = Api(limited)
    headers = await api.signup("ada")
    for name in ("bob", "cyd", "dee"):
        await api.register(name)
    r = await limited.post(
        "/api/v1/auth/register",
        json={"username": "eve", "email": "eve@example.com", "password": "password123"},
    )
    assert r.status_code == 429
    for _ in range(2):
        r = await limited.post(
            "/api/v1/agents/assistant/run", json={"message": "hi"}, headers=headers
        )
        assert r.status_code == 200
    r = await limited.post("/api/v1/agents/assistant/run", json={"message": "hi"}, headers=headers)
    assert r.status_code == 429 and "Retry-After" in r.headers
    gql = {"query": 'mutation { sendMessage(agent: "assistant", message: "hi") { output } }'}
    body = (await limited.post("/graphql", json=gql, headers=headers)).json()
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    docs = await client.get("/docs")  # Swagger UI runs scripts, from this host only
    assert "default-src 'self'" in docs.headers["content-security-policy"]


INTROSPECT = {"query": "{ __schema { queryType { name } } }"}


async def test_graphql_introspection_and_ide_are_off_in_production(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, environment="production")
    async for http in started(make_container(settings)):
        body = (await http.post("/graphql", json=INTROSPECT)).json()
        assert "errors" in body and body.get("data") is None
        ide = await http.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in ide.text.lower()


async def test_graphql_operations_are_counted(client: httpx.AsyncClient, api: Api) -> None:
    headers = await api.signup("ada")
    body = (await client.post("/graphql", json=INTROSPECT)).json()
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"  # on outside production
    await client.post("/graphql", json={"query": "query Me { me { username } }"}, headers=headers)
    metrics = (await client.get("/metrics")).text
    assert 'mai_graphql_operations_total{name="Me",outcome="ok",type="query"}' in metrics


async def test_graphql_limits_hold_on_every_repeat_of_a_cached_document(
    client: httpx.AsyncClient, api: Api
) -> None:
    """Documents are parsed and validated once (CachedParsing, ValidationCache):
    a refused document stays refused on every repeat, and a repeated valid one is
    validated once, with the limits' rules (the cache key) the same on every operation."""
    from strawberry.extensions.parser_cache import _get_parse_cache
    from strawberry.extensions.validation_cache import _get_validate_cache

    from entrypoints.graphql.schema import DOCUMENT_CACHE, MAX_ALIASES

    headers = await api.signup("ada")
    too_many = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(MAX_ALIASES + 1)) + " }"
    for _ in range(3):
        body = (await client.post("/graphql", json={"query": too_many}, headers=headers)).json()
        assert body.get("data") is None and "aliases" in body["errors"][0]["message"]
    validations, parses = _get_validate_cache(DOCUMENT_CACHE), _get_parse_cache(DOCUMENT_CACHE)
    query = {"query": "query Repeat { me { username } }"}
    first = (await client.post("/graphql", json=query, headers=headers)).json()
    before, parsed = validations.cache_info(), parses.cache_info()
    for _ in range(3):
        assert (await client.post("/graphql", json=query, headers=headers)).json() == first
    after = validations.cache_info()
    assert first["data"]["me"]["username"] == "ada"
    assert after.hits - before.hits == 3 and after.misses == before.misses
    assert parses.cache_info().hits - parsed.hits == 3
    # a syntax error keeps the contract's shape (reported by strawberry's own parse)
    broken = (await client.post("/graphql", json={"query": "{ me {"}, headers=headers)).json()
    assert broken["errors"][0]["extensions"]["error"]["code"] == "GRAPHQL_VALIDATION_FAILED"
