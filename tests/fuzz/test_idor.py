"""IDOR on every id-taking route (issue #10): Ada's things, asked for by Bob, answer 404
with the contract's shape (never 200, never a 403 that admits they exist, never a 500),
over REST and GraphQL.

The routes come from the app itself. A new route with a path parameter fails
`test_every_id_taking_route_is_known` until it is added to OWNED (with a seeder below) or
to SHARED (it names something that is not a user's: an agent, a tool, a prompt…).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from fastapi.routing import APIRoute

from entrypoints.rest.app import create_app
from tests.fuzz.conftest import (
    assert_error_response,
    assert_graphql_errors,
    fuzz_container,
)

#: Path parameters naming a user's own thing → which seeded thing of Ada's to use.
OWNED = {
    "conversation_id": "conversation",
    "memory_id": "memory",
    "approval_id": "approval",
    "run_id": "run",
    "key_id": "api_key",
}
#: Routes whose parameters name shared, catalogued things: no owner to check.
SHARED = {
    "/api/v1/agents/{name}",
    "/api/v1/agents/{name}/run",
    "/api/v1/agents/{name}/stream",
    "/api/v1/agents/{name}/vercel-ai",
    "/api/v1/agents/{name}/ag-ui",
    "/api/v1/tools/{name}",
    "/api/v1/tools/{name}/invoke",
    "/api/v1/prompts/{name}/render",
    "/api/v1/pipelines/{name}",
    "/api/v1/pipelines/{name}/run",
    "/v1/models/{model}",
}
#: Routes for superusers only: anyone else gets 403 whatever the id (nothing is owned).
SUPERUSER_ONLY = {"/api/v1/evals/{eval_run_id}"}
#: A valid body for the id routes that take one (so only ownership can refuse them).
BODIES = {
    ("POST", "/api/v1/approvals/{approval_id}"): {"approve": True},
    ("PATCH", "/api/v1/memories/{memory_id}"): {"content": "bob's now"},
}
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(METHOD, path) of every HTTP route, including routers included without a schema
    entry (FastAPI keeps included routers nested; their prefix is on the include)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(included.routes, prefix + str(getattr(context, "prefix", "")))
        elif isinstance(route, APIRoute):
            for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                yield method, prefix + route.path


def id_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = set(_walk(list(app.routes)))
    for path, item in app.openapi()["paths"].items():  # the documented ones, at least
        found |= {(m.upper(), path) for m in item if m in {"get", "post", "put", "patch", "delete"}}
    return sorted((m, p) for m, p in found if PARAM.search(p))


def _app(tmp_path: Path) -> FastAPI:
    return create_app(fuzz_container(tmp_path), configure_logs=False)


def test_every_id_taking_route_is_known(tmp_path: Path) -> None:
    routes = id_routes(_app(tmp_path))
    assert ("GET", "/api/v1/conversations/{conversation_id}") in routes  # the walk works
    unknown = [
        f"{method} {path}"
        for method, path in routes
        if path not in SHARED | SUPERUSER_ONLY and not all(p in OWNED for p in PARAM.findall(path))
    ]
    assert unknown == [], (
        "new id-taking routes: seed their thing in OWNED (and `seed` below) or list them "
        "in SHARED if they name nothing a user owns"
    )


@dataclass
class World:
    http: httpx.AsyncClient
    ada: dict[str, str]
    bob: dict[str, str]
    ids: dict[str, str]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, World]]:
    app = _app(tmp_path)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            headers = {}
            for name in ("ada", "bob"):
                body = {"username": name, "email": f"{name}@example.com", "password": "password1"}
                assert (await http.post("/api/v1/auth/register", json=body)).status_code == 201
                r = await http.post(
                    "/api/v1/auth/login", json={"username": name, "password": "password1"}
                )
                headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield app, World(http, headers["ada"], headers["bob"], await seed(http, headers["ada"]))


async def seed(http: httpx.AsyncClient, ada: dict[str, str]) -> dict[str, str]:
    """One of each of Ada's things: a conversation paused on an approval, a memory, a run."""
    r = await http.post(
        "/api/v1/agents/banker/run", json={"message": "transfer 5 to carol"}, headers=ada
    )
    paused = r.json()
    memory = await http.post("/api/v1/memories", json={"content": "ada's secret"}, headers=ada)
    run = await http.post(
        "/api/v1/pipelines/shout/run?wait=true", json={"input": "hi"}, headers=ada
    )
    key = await http.post("/api/v1/api-keys", json={"name": "ada's key"}, headers=ada)
    return {
        "api_key": key.json()["id"],
        "conversation": paused["conversation_id"],
        "approval": paused["pending_approval"]["id"],
        "memory": memory.json()["id"],
        "run": run.json()["id"],
    }


def _url(path: str, ids: dict[str, str]) -> str:
    return PARAM.sub(lambda m: ids[OWNED[m[1]]], path)


async def test_another_users_id_answers_404_on_every_owned_route(
    world: tuple[FastAPI, World],
) -> None:
    app, w = world
    owned = [(m, p) for m, p in id_routes(app) if p not in SHARED | SUPERUSER_ONLY]
    assert len(owned) >= 7
    # Reads first, destructive calls last, so Ada's things exist for every one of Bob's tries.
    owned.sort(key=lambda mp: (mp[0] in {"DELETE", "POST"}, mp))
    for method, path in owned:
        url = _url(path, w.ids)
        body = BODIES.get((method, path))
        r = await w.http.request(method, url, json=body, headers=w.bob)
        assert_error_response(r, 404)  # NOT_FOUND, or a specific *_NOT_FOUND
        assert r.json()["error"]["code"].endswith("NOT_FOUND"), r.text
        # ...and the same request by Ada works, so it was ownership that refused Bob.
        if method == "GET":
            assert (await w.http.get(url, headers=w.ada)).status_code == 200, (method, path)
    # Bob's attempts changed nothing of Ada's.
    approval = await w.http.get(f"/api/v1/approvals/{w.ids['approval']}", headers=w.ada)
    assert approval.json()["status"] == "pending"
    memories = (await w.http.get("/api/v1/memories", headers=w.ada)).json()["items"]
    assert [m["id"] for m in memories] == [w.ids["memory"]]


async def test_superuser_only_routes_refuse_others_whatever_the_id(
    world: tuple[FastAPI, World],
) -> None:
    app, w = world
    routes = [(m, p) for m, p in id_routes(app) if p in SUPERUSER_ONLY]
    assert routes, "SUPERUSER_ONLY names routes the app no longer has"
    for method, path in routes:
        url = PARAM.sub("00000000-0000-0000-0000-000000000000", path)
        r = await w.http.request(method, url, headers=w.bob)
        assert_error_response(r, 403)


async def test_another_users_id_over_graphql_is_not_found(world: tuple[FastAPI, World]) -> None:
    _, w = world

    async def gql(query: str, headers: dict[str, str], **variables: Any) -> Any:
        body = {"query": query, "variables": variables}
        r = await w.http.post("/graphql", json=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    calls = [
        ("query($id: ID!) { conversation(id: $id) { id title } }", w.ids["conversation"]),
        (
            "query($id: ID!) { conversation(id: $id) { id messages { content } } }",
            w.ids["conversation"],
        ),
        ("mutation($id: ID!) { forget(id: $id) }", w.ids["memory"]),
        ("query($id: ID!) { memory(id: $id) { content } }", w.ids["memory"]),
        (
            'mutation($id: ID!) { updateMemory(id: $id, content: "bob\'s now") { id } }',
            w.ids["memory"],
        ),
        (
            "mutation($id: ID!) { resolveApproval(id: $id, approve: true) { output } }",
            w.ids["approval"],
        ),
        ("query($id: ID!) { pipelineRun(id: $id) { id status } }", w.ids["run"]),
    ]
    for query, id_ in calls:
        body = await gql(query, w.bob, id=id_)
        assert body.get("data") is None, body
        assert_graphql_errors(body)
        assert body["errors"][0]["extensions"]["code"].endswith("NOT_FOUND")
    # Ada still has them all, untouched.
    mine = await gql(
        "query($id: ID!) { conversation(id: $id) { id } }", w.ada, id=w.ids["conversation"]
    )
    assert mine["data"]["conversation"]["id"] == w.ids["conversation"]
    approvals = await gql("{ approvals { id status } }", w.ada)
    assert approvals["data"]["approvals"] == [{"id": w.ids["approval"], "status": "pending"}]
    memories = await gql("{ memories { items { id } } }", w.ada)
    assert memories["data"]["memories"]["items"] == [{"id": w.ids["memory"]}]
