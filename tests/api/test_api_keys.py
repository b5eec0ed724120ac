"""Personal API keys over the API: shown once, stored hashed, usable wherever an access token
is (REST, /v1, GraphQL over HTTP and WebSocket), and stopped at once when revoked or expired,
on every app instance sharing the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from starlette.testclient import TestClient

from adapters.sql.migrate import upgrade
from container import Container
from domain.identity.api_keys import hash_api_key
from entrypoints.rest.app import create_app
from tests.api.conftest import running, with_model
from tests.conftest import Api, make_container, make_settings
from tests.fakes.clock import FakeClock


@pytest.fixture
def clock(container: Container) -> FakeClock:
    clock = FakeClock()
    container.clock.override(providers.Object(clock))
    return clock


@pytest.fixture
async def http(container: Container, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with running(container) as (_app, client):
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_key(http: httpx.AsyncClient, session: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await http.post("/api/v1/api-keys", json={"name": "laptop", **body}, headers=session)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_a_key_is_shown_once_and_stored_hashed(
    http: httpx.AsyncClient, container: Container
) -> None:
    session = await Api(http).signup("ada")
    made = await make_key(http, session, expires_in_days=30)
    key = made["key"]
    assert key.startswith("mai_") and len(key) > 40
    assert made["prefix"] == key[:12] and made["name"] == "laptop"
    created = datetime.fromisoformat(made["created_at"])
    assert datetime.fromisoformat(made["expires_at"]) - created == timedelta(days=30)
    assert made["last_used_at"] is None and made["expired"] is False

    listed = (await http.get("/api/v1/api-keys", headers=session)).json()["items"]
    assert [k["id"] for k in listed] == [made["id"]]
    assert "key" not in listed[0] and key not in str(listed)

    stored = await container.api_key_store().get_by_hash(hash_api_key(key))
    assert stored is not None and key not in repr(stored)


async def test_a_key_works_where_an_access_token_does(http: httpx.AsyncClient) -> None:
    session = await Api(http).signup("ada")
    key = bearer((await make_key(http, session))["key"])

    assert (await http.get("/api/v1/users/me", headers=key)).json()["username"] == "ada"
    assert (await http.get("/v1/models", headers=key)).status_code == 200
    r = await http.post(
        "/v1/chat/completions",
        json={"model": "assistant", "messages": [{"role": "user", "content": "hi"}]},
        headers=key,
    )
    assert r.json()["choices"][0]["message"]["content"] == "echo: hi (turn 1)"
    r = await http.post("/graphql", json={"query": "{ me { username } }"}, headers=key)
    assert r.json()["data"]["me"]["username"] == "ada"

    listed = (await http.get("/api/v1/api-keys", headers=session)).json()["items"]
    assert listed[0]["last_used_at"] is not None  # its last use is shown


async def test_what_a_key_may_not_do(http: httpx.AsyncClient) -> None:
    session = await Api(http).signup("ada")
    key = bearer((await make_key(http, session))["key"])

    r = await http.post("/api/v1/api-keys", json={"name": "child"}, headers=key)
    assert r.status_code == 403 and r.json()["error"]["code"] == "PERMISSION_DENIED"
    r = await http.post("/api/v1/auth/logout", headers=key)
    assert r.status_code == 400 and r.json()["error"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "x" * 101}, {"name": "k", "expires_in_days": 0}, {"name": "k", "x": 1}],
)
async def test_bad_requests_are_422(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    session = await Api(http).signup("ada")
    r = await http.post("/api/v1/api-keys", json=body, headers=session)
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_FAILED"


async def test_revoked_and_expired_keys_stop_at_once(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    api = Api(http)
    session = await api.signup("ada")
    revoked, expiring = (
        await make_key(http, session),
        await make_key(http, session, expires_in_days=1),
    )
    me = "/api/v1/users/me"
    assert (await http.get(me, headers=bearer(revoked["key"]))).status_code == 200

    assert (
        await http.delete(f"/api/v1/api-keys/{revoked['id']}", headers=session)
    ).status_code == 204
    r = await http.get(me, headers=bearer(revoked["key"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTHENTICATION_FAILED"
    again = await http.delete(f"/api/v1/api-keys/{revoked['id']}", headers=session)
    assert again.status_code == 404

    clock.advance(timedelta(days=1, seconds=1))
    r = await http.get(me, headers=bearer(expiring["key"]))
    assert r.status_code == 401 and r.json()["error"]["details"]["reason"] == "expired"
    listed = (await http.get("/api/v1/api-keys", headers=session)).json()["items"]
    assert [(k["id"], k["expired"]) for k in listed] == [(expiring["id"], True)]


async def test_another_users_key_is_not_found(http: httpx.AsyncClient) -> None:
    api = Api(http)
    ada, bob = await api.signup("ada"), await api.signup("bob")
    made = await make_key(http, ada)
    r = await http.delete(f"/api/v1/api-keys/{made['id']}", headers=bob)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    assert (await http.get("/api/v1/api-keys", headers=bob)).json()["items"] == []
    assert (await http.get("/api/v1/users/me", headers=bearer(made["key"]))).status_code == 200


async def test_an_unknown_key_is_401(http: httpx.AsyncClient) -> None:
    r = await http.get("/api/v1/users/me", headers=bearer("mai_" + "x" * 43))
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTHENTICATION_FAILED"


# --- GraphQL over WebSocket -----------------------------------------------------------------


@pytest.fixture
def ws(container: Container) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(container, configure_logs=False)) as tc:
        user = {"username": "ada", "email": "ada@example.com", "password": "password123"}
        assert tc.post("/api/v1/auth/register", json=user).status_code == 201
        r = tc.post("/api/v1/auth/login", json={"username": "ada", "password": "password123"})
        r = tc.post(
            "/api/v1/api-keys", json={"name": "ws"}, headers=bearer(r.json()["access_token"])
        )
        yield tc, r.json()["key"]


def test_a_key_opens_a_graphql_websocket(ws: tuple[TestClient, str]) -> None:
    tc, key = ws
    query = 'subscription { chat(agent: "assistant", message: "hi") { type text } }'
    with tc.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as socket:
        socket.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {key}"}})
        assert socket.receive_json() == {"type": "connection_ack"}
        socket.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        kinds = []
        while (message := socket.receive_json())["type"] == "next":
            kinds.append(message["payload"]["data"]["chat"]["type"])
        assert message["type"] == "complete" and kinds[-1] == "DONE"


# --- two app instances on one database ------------------------------------------------------


async def test_a_revocation_reaches_every_instance(tmp_path: Path) -> None:
    """Two app instances (as two server processes would be) on one SQLite file: a key made on
    one works on the other, and revoked on one it stops on the other with the next request."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    await upgrade(url)

    def instance(name: str) -> Container:
        settings = make_settings(tmp_path / name, database={"url": url})
        return with_model(make_container(settings), "test")

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with running(instance("a")) as (_a, a), running(instance("b")) as (_b, b):
        session = await Api(a).signup("ada")
        made = await make_key(a, session)
        key = bearer(made["key"])
        assert (await b.get("/api/v1/users/me", headers=key)).status_code == 200

        assert (
            await a.delete(f"/api/v1/api-keys/{made['id']}", headers=session)
        ).status_code == 204
        assert (await b.get("/api/v1/users/me", headers=key)).status_code == 401
        assert (await a.get("/api/v1/users/me", headers=key)).status_code == 401


# --- GraphQL fields -------------------------------------------------------------------------


async def test_keys_over_graphql(http: httpx.AsyncClient) -> None:
    session = await Api(http).signup("ada")

    async def gql(query: str, headers: dict[str, str], **variables: Any) -> dict[str, Any]:
        r = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        return dict(r.json())

    made = await gql(
        'mutation { createApiKey(name: "ci", expiresInDays: 2) { key apiKey { id prefix } } }',
        session,
    )
    created = made["data"]["createApiKey"]
    key = bearer(created["key"])
    listed = await gql("{ apiKeys { id name prefix expired lastUsedAt } }", key)
    assert listed["data"]["apiKeys"][0]["id"] == created["apiKey"]["id"]
    assert listed["data"]["apiKeys"][0]["lastUsedAt"] is not None

    refused = await gql('mutation { createApiKey(name: "child") { key } }', key)
    assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"

    revoked = await gql(
        "mutation($id: ID!) { revokeApiKey(id: $id) }", session, id=created["apiKey"]["id"]
    )
    assert revoked["data"]["revokeApiKey"] is True
    after = await gql("{ me { username } }", key)
    assert after["errors"][0]["extensions"]["code"] == "AUTHENTICATION_FAILED"
