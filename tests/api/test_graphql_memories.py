"""Long-term memory over GraphQL: `memories` (recent, or a search with scores and a
`degraded` flag), `remember`, `forget`; other users' ids are NOT_FOUND; auth required."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from dependency_injector import providers

from container import Container
from tests.conftest import Api
from tests.fakes import FlakyIndex, HashEmbedder

REMEMBER = """mutation($content: String!, $metadata: JSON, $importance: Float, $kind: MemoryKind) {
  remember(content: $content, metadata: $metadata, importance: $importance, kind: $kind) {
    id content kind importance metadata accessCount lastAccessedAt createdAt score similarity
  }
}"""
FORGET = "mutation($id: ID!) { forget(id: $id) }"
RECENT = """query($first: Int, $after: String) {
  memories(first: $first, after: $after) { items { id content } nextCursor mode degraded }
}"""
SEARCH = """query($query: String!, $k: Int, $mode: MemorySearchMode, $kind: MemoryKind) {
  memories(query: $query, k: $k, mode: $mode, kind: $kind) {
    items { id content kind score similarity accessCount } nextCursor mode degraded
  }
}"""


@pytest.fixture
def index() -> FlakyIndex:
    return FlakyIndex()


@pytest.fixture
def container(container: Container, index: FlakyIndex) -> Container:
    container.memory_index.override(providers.Object(index))
    container.embedder.override(providers.Object(HashEmbedder()))
    return container


async def gql(
    client: httpx.AsyncClient,
    document: str,
    headers: dict[str, str] | None = None,
    /,
    **variables: Any,
) -> dict[str, Any]:
    r = await client.post(
        "/graphql", json={"query": document, "variables": variables}, headers=headers or {}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def error_code(body: dict[str, Any]) -> str:
    assert body.get("data") is None or not any(body["data"].values()), body
    error = body["errors"][0]["extensions"]["error"]
    assert set(error) == {"code", "message", "details", "retryable"}
    return str(error["code"])


async def remember(
    client: httpx.AsyncClient, headers: dict[str, str], content: str, **variables: Any
) -> dict[str, Any]:
    body = await gql(client, REMEMBER, headers, content=content, **variables)
    assert "errors" not in body, body
    return dict(body["data"]["remember"])


async def recent(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    body = await gql(client, RECENT, headers, first=100)
    return [m["content"] for m in body["data"]["memories"]["items"]]


async def test_remember_returns_the_memory(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    plain = await remember(client, h, "We talked about the weather")
    assert plain["kind"] == "EPISODIC" and plain["metadata"] == {}
    assert plain["accessCount"] == 0 and plain["lastAccessedAt"] is None
    assert plain["score"] is None and plain["similarity"] is None  # not found by a search
    assert 0 <= plain["importance"] <= 1

    given = await remember(
        client, h, "I prefer tea", metadata={"source": "chat"}, importance=0.8, kind="PREFERENCE"
    )
    assert (given["kind"], given["importance"], given["metadata"]) == (
        "PREFERENCE",
        0.8,
        {"source": "chat"},
    )


@pytest.mark.parametrize(
    "variables",
    [
        {"content": ""},
        {"content": "x" * 8001},
        {"content": "ok", "importance": 2.0},
        {"content": "ok", "metadata": [1, 2]},
    ],
)
async def test_bad_memories_are_validation_errors(
    api: Api, client: httpx.AsyncClient, variables: dict[str, Any]
) -> None:
    h = await api.signup("ada")
    assert error_code(await gql(client, REMEMBER, h, **variables)) == "VALIDATION_FAILED"
    assert await recent(client, h) == []


async def test_memories_lists_recent_newest_first(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    made = [(await remember(client, h, f"note number {i}"))["id"] for i in range(5)]
    seen: list[str] = []
    after: str | None = None
    while True:
        page = (await gql(client, RECENT, h, first=2, after=after))["data"]["memories"]
        assert page["mode"] is None and page["degraded"] is False
        seen += [m["id"] for m in page["items"]]
        after = page["nextCursor"]
        if after is None:
            break
    assert seen == list(reversed(made))


async def test_memories_searches_with_scores(
    api: Api, client: httpx.AsyncClient, index: FlakyIndex
) -> None:
    h = await api.signup("ada")
    await remember(client, h, "I love hiking in the Alps")
    await remember(client, h, "My favourite food is ramen", kind="PREFERENCE")
    await remember(client, h, "The budget meeting is on Tuesday")

    found = (await gql(client, SEARCH, h, query="hiking Alps", k=2))["data"]["memories"]
    assert (found["mode"], found["degraded"], found["nextCursor"]) == ("HYBRID", False, None)
    assert 1 <= len(found["items"]) <= 2
    assert found["items"][0]["content"] == "I love hiking in the Alps"
    scores = [i["score"] for i in found["items"]]
    assert all(s is not None for s in scores) and scores == sorted(scores, reverse=True)

    found = (await gql(client, SEARCH, h, query="ramen", mode="LEXICAL"))["data"]["memories"]
    assert found["mode"] == "LEXICAL" and found["items"][0]["content"].endswith("ramen")
    found = (await gql(client, SEARCH, h, query="food", kind="FACT"))["data"]["memories"]
    assert all(i["kind"] == "FACT" for i in found["items"])

    index.down = True
    found = (await gql(client, SEARCH, h, query="budget Tuesday"))["data"]["memories"]
    assert (found["mode"], found["degraded"]) == ("LEXICAL", True)
    assert found["items"][0]["content"] == "The budget meeting is on Tuesday"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (SEARCH, {"query": "   "}),
        (SEARCH, {"query": "tea", "k": 0}),
        (SEARCH, {"query": "tea", "k": 51}),
        (
            'query { memories(query: "tea", after: "abc") { items { id } } }',
            {},
        ),
        ("query { memories(first: 0) { items { id } } }", {}),
    ],
)
async def test_bad_queries_are_validation_errors(
    api: Api, client: httpx.AsyncClient, query: str, variables: dict[str, Any]
) -> None:
    h = await api.signup("ada")
    assert error_code(await gql(client, query, h, **variables)) == "VALIDATION_FAILED"


async def test_forget(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    gone = await remember(client, h, "My locker code is 4512")
    await remember(client, h, "My bike is red")

    assert (await gql(client, FORGET, h, id=gone["id"]))["data"]["forget"] is True
    assert await recent(client, h) == ["My bike is red"]
    found = (await gql(client, SEARCH, h, query="locker code 4512"))["data"]["memories"]
    assert gone["id"] not in [i["id"] for i in found["items"]]

    assert error_code(await gql(client, FORGET, h, id=gone["id"])) == "NOT_FOUND"
    assert error_code(await gql(client, FORGET, h, id=str(uuid4()))) == "NOT_FOUND"
    assert error_code(await gql(client, FORGET, h, id="nope")) == "VALIDATION_FAILED"


async def test_another_users_memories_are_out_of_reach(api: Api, client: httpx.AsyncClient) -> None:
    a = await api.signup("ada")
    b = await api.signup("bob")
    secret = await remember(client, a, "My bank PIN is 2468")
    mine = await remember(client, b, "My bank PIN is 1357")

    assert error_code(await gql(client, FORGET, b, id=secret["id"])) == "NOT_FOUND"
    assert await recent(client, a) == [secret["content"]]  # intact
    assert await recent(client, b) == [mine["content"]]
    found = (await gql(client, SEARCH, b, query="bank PIN 2468", k=50))["data"]["memories"]
    assert [i["id"] for i in found["items"]] == [mine["id"]]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (RECENT, {}),
        (SEARCH, {"query": "tea"}),
        (REMEMBER, {"content": "sneaky"}),
        (FORGET, {"id": str(uuid4())}),
    ],
)
async def test_unauthenticated_is_refused(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any]
) -> None:
    assert error_code(await gql(client, query, None, **variables)) == "AUTHENTICATION_FAILED"
    bad = {"Authorization": "Bearer not-a-token"}
    assert error_code(await gql(client, query, bad, **variables)) == "AUTHENTICATION_FAILED"


ONE = """query($id: ID!) {
  memory(id: $id) { id content source embeddingModel sourceConversationId createdAt updatedAt }
}"""
UPDATE = """mutation($id: ID!, $content: String, $metadata: JSON, $importance: Float) {
  updateMemory(id: $id, content: $content, metadata: $metadata, importance: $importance) {
    id content metadata importance
  }
}"""


async def test_memory_by_id_and_update_memory(api: Api, client: httpx.AsyncClient) -> None:
    ada, eve = await api.signup("ada"), await api.signup("eve")
    made = (await gql(client, REMEMBER, ada, content="My cat is called Felix"))["data"]["remember"]
    got = (await gql(client, ONE, ada, id=made["id"]))["data"]["memory"]
    assert (got["content"], got["source"], got["embeddingModel"]) == (
        "My cat is called Felix",
        "user",
        "hash-bow",
    )
    assert got["sourceConversationId"] is None
    assert error_code(await gql(client, ONE, eve, id=made["id"])) == "NOT_FOUND"

    body = await gql(client, UPDATE, ada, id=made["id"], content="My dog is called Rex")
    assert body["data"]["updateMemory"]["content"] == "My dog is called Rex"
    found = (await gql(client, SEARCH, ada, query="dog Rex", k=1))["data"]["memories"]
    assert found["items"][0]["content"] == "My dog is called Rex"
    assert error_code(await gql(client, UPDATE, eve, id=made["id"], content="x")) == "NOT_FOUND"
    assert error_code(await gql(client, UPDATE, ada, id=made["id"], content=" ")) == (
        "VALIDATION_FAILED"
    )
