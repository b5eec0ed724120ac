"""Long-term memory over REST: remember, list, search (ranked, in every mode), forget; the
vector index going down (search degrades to lexical, storing still works, the reconciler
catches up); isolation between users; bad input answered 422 in the contract's shape."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from dependency_injector import providers

from container import Container
from tests.conftest import Api
from tests.fakes import FlakyIndex, HashEmbedder

MEMORIES = "/api/v1/memories"
SEARCH = "/api/v1/memories/search"
FIELDS = {
    "id",
    "content",
    "kind",
    "importance",
    "metadata",
    "access_count",
    "last_accessed_at",
    "created_at",
    "updated_at",
    "source",
}
FACTS = [
    "I love hiking in the Alps every summer",
    "My favourite food is ramen with extra egg",
    "The quarterly budget meeting is on Tuesday",
    "My sister Maria lives in Lisbon",
]


@pytest.fixture
def index() -> FlakyIndex:
    return FlakyIndex()


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def container(container: Container, index: FlakyIndex, embedder: HashEmbedder) -> Container:
    container.memory_index.override(providers.Object(index))
    container.embedder.override(providers.Object(embedder))
    return container


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and set(error) == {"code", "message", "details", "retryable"}
    return dict(error)


async def remember(
    client: httpx.AsyncClient, headers: dict[str, str], content: str, **fields: Any
) -> dict[str, Any]:
    r = await client.post(MEMORIES, json={"content": content, **fields}, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def search(
    client: httpx.AsyncClient, headers: dict[str, str], q: str, **params: Any
) -> dict[str, Any]:
    r = await client.get(SEARCH, params={"q": q, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def listed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    r = await client.get(MEMORIES, params={"limit": 100}, headers=headers)
    assert r.status_code == 200, r.text
    return [m["content"] for m in r.json()["items"]]


async def test_remember_answers_the_memory_never_its_embedding(
    api: Api, client: httpx.AsyncClient, index: FlakyIndex
) -> None:
    h = await api.signup("ada")
    plain = await remember(client, h, "We talked about the weather")
    assert set(plain) == FIELDS
    assert plain["kind"] == "episodic" and plain["metadata"] == {}
    assert plain["access_count"] == 0 and plain["last_accessed_at"] is None
    assert 0 <= plain["importance"] <= 1  # scored by the domain's heuristic

    given = await remember(
        client, h, "I prefer tea", importance=0.9, kind="preference", metadata={"source": "chat"}
    )
    assert (given["importance"], given["kind"], given["metadata"]) == (
        0.9,
        "preference",
        {"source": "chat"},
    )
    assert len(index.points) == 2  # indexed as it was stored
    assert_error(await client.post(MEMORIES, json={"content": "x"}), 401, "AUTHENTICATION_FAILED")


async def test_list_is_newest_first_with_a_cursor(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    made = [(await remember(client, h, f"note number {i}"))["id"] for i in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"after": cursor} if cursor else {})
        r = await client.get(MEMORIES, params=params, headers=h)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2 and all(set(m) == FIELDS for m in page["items"])
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    assert_error(
        await client.get(MEMORIES, params={"after": "garbage!"}, headers=h),
        422,
        "VALIDATION_FAILED",
    )


async def test_search_is_ranked_with_scores(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    ids = {fact: (await remember(client, h, fact))["id"] for fact in FACTS}

    found = await search(client, h, "hiking in the Alps", k=3)
    assert (found["mode"], found["degraded"]) == ("hybrid", False)
    items = found["items"]
    assert 1 <= len(items) <= 3
    assert items[0]["id"] == ids[FACTS[0]]
    assert set(items[0]) == FIELDS | {"score", "similarity", "dense", "lexical"}
    assert items[0]["dense"] is not None and items[0]["lexical"] is not None  # found by both
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)

    assert len((await search(client, h, "my", k=1))["items"]) == 1  # k caps the answer

    r = await client.get(MEMORIES, headers=h)  # a search counts as an access
    hiking = next(m for m in r.json()["items"] if m["id"] == ids[FACTS[0]])
    assert hiking["access_count"] == 1 and hiking["last_accessed_at"] is not None


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
async def test_every_mode_finds_the_best_match(
    api: Api, client: httpx.AsyncClient, mode: str
) -> None:
    h = await api.signup("ada")
    for fact in FACTS:
        await remember(client, h, fact)
    found = await search(client, h, "ramen food", mode=mode)
    assert (found["mode"], found["degraded"]) == (mode, False)
    assert found["items"][0]["content"] == FACTS[1]
    assert all(-1.0 <= i["similarity"] <= 1.0 for i in found["items"])


async def test_search_by_kind(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    await remember(client, h, "I like green tea", kind="preference")
    await remember(client, h, "Green tea has caffeine", kind="fact")
    for mode in ("hybrid", "dense", "lexical"):
        found = await search(client, h, "green tea", kind="fact", mode=mode)
        assert [i["content"] for i in found["items"]] == ["Green tea has caffeine"], mode


async def test_index_down_search_degrades_to_lexical(
    api: Api, client: httpx.AsyncClient, index: FlakyIndex
) -> None:
    h = await api.signup("ada")
    for fact in FACTS:
        await remember(client, h, fact)
    index.down = True
    for mode in ("hybrid", "dense"):
        found = await search(client, h, "Maria Lisbon", mode=mode)
        assert (found["mode"], found["degraded"]) == ("lexical", True)
        assert found["items"][0]["content"] == FACTS[3]


async def test_index_down_store_succeeds_and_the_reconciler_catches_up(
    api: Api, client: httpx.AsyncClient, container: Container, index: FlakyIndex
) -> None:
    h = await api.signup("ada")
    kept = await remember(client, h, "The spare key is under the blue flowerpot")
    index.down = True
    late = await remember(client, h, "The wifi password is on the fridge")  # 201 all the same
    await client.delete(f"{MEMORIES}/{kept['id']}", headers=h)  # forgotten, still in the index
    assert set(index.points) == {UUID(kept["id"])}
    assert await listed(client, h) == [late["content"]]

    found = await search(client, h, "wifi password")  # lexical finds it meanwhile
    assert found["degraded"] and found["items"][0]["id"] == late["id"]

    index.down = False
    assert await container.reconcile_index().execute() == {"indexed": 1, "removed": 1}
    assert {str(i) for i in index.points} == {late["id"]}
    found = await search(client, h, "wifi password", mode="dense")
    assert not found["degraded"] and [i["id"] for i in found["items"]] == [late["id"]]
    assert await container.reconcile_index().execute() == {"indexed": 0, "removed": 0}


async def test_delete_then_gone_everywhere(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    gone = await remember(client, h, "My locker code is 4512")
    await remember(client, h, "My bike is red")

    r = await client.delete(f"{MEMORIES}/{gone['id']}", headers=h)
    assert r.status_code == 204 and r.content == b""
    assert await listed(client, h) == ["My bike is red"]
    for mode in ("hybrid", "dense", "lexical"):
        found = await search(client, h, "locker code 4512", mode=mode)
        assert gone["id"] not in [i["id"] for i in found["items"]]

    assert_error(await client.delete(f"{MEMORIES}/{gone['id']}", headers=h), 404, "NOT_FOUND")
    assert_error(await client.delete(f"{MEMORIES}/{uuid4()}", headers=h), 404, "NOT_FOUND")
    assert_error(await client.delete(f"{MEMORIES}/not-an-id", headers=h), 422, "VALIDATION_FAILED")


async def test_users_never_see_each_others_memories(
    api: Api, client: httpx.AsyncClient, index: FlakyIndex
) -> None:
    a = await api.signup("ada")
    b = await api.signup("bob")
    secret = await remember(client, a, "My bank PIN is 2468 and my dog is called Rex")
    mine = await remember(client, b, "My bank PIN is 1357 and my dog is called Max")

    assert await listed(client, b) == [mine["content"]]
    for mode in ("hybrid", "dense", "lexical"):
        found = await search(client, b, "bank PIN 2468 dog Rex", mode=mode, k=50)
        assert [i["id"] for i in found["items"]] == [mine["id"]], mode
    index.down = True
    found = await search(client, b, "bank PIN 2468 dog Rex")
    assert found["degraded"] and [i["id"] for i in found["items"]] == [mine["id"]]
    index.down = False

    assert_error(await client.delete(f"{MEMORIES}/{secret['id']}", headers=b), 404, "NOT_FOUND")
    assert await listed(client, a) == [secret["content"]]  # intact
    found = await search(client, a, "bank PIN", mode="dense")
    assert [i["id"] for i in found["items"]] == [secret["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"content": ""},
        {"content": "   "},
        {"content": "x" * 8001},
        {"content": "ok", "importance": 1.5},
        {"content": "ok", "importance": -0.1},
        {"content": "ok", "kind": "rumour"},
        {"content": "ok", "metadata": ["not", "an", "object"]},
        {"content": "ok", "unexpected": True},
        {},
    ],
)
async def test_bad_memories_are_422(
    api: Api, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    h = await api.signup("ada")
    assert_error(await client.post(MEMORIES, json=body, headers=h), 422, "VALIDATION_FAILED")
    assert await listed(client, h) == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "tea", "k": 0},
        {"q": "tea", "k": 51},
        {"q": "tea", "k": "many"},
        {"q": "tea", "mode": "fuzzy"},
        {"q": "tea", "kind": "rumour"},
    ],
)
async def test_bad_searches_are_422(
    api: Api, client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    h = await api.signup("ada")
    r = await client.get(SEARCH, params=params, headers=h)
    assert_error(r, 422, "VALIDATION_FAILED")


async def test_the_edges_of_valid_input_pass(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    await remember(client, h, "x" * 8000, importance=0.0)
    await remember(client, h, "y", importance=1.0)
    assert len((await search(client, h, "y", k=50))["items"]) >= 1
    assert len((await search(client, h, "y", k=1))["items"]) == 1


async def test_an_oversized_body_is_413(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    r = await client.post(MEMORIES, json={"content": "x" * 2_000_000}, headers=h)
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


async def test_read_one_memory_with_its_provenance(api: Api, client: httpx.AsyncClient) -> None:
    ada, eve = await api.signup("ada"), await api.signup("eve")
    made = await remember(client, ada, "My sister Maria lives in Lisbon", metadata={"src": "x"})
    r = await client.get(f"{MEMORIES}/{made['id']}", headers=ada)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["content"] == "My sister Maria lives in Lisbon" and got["source"] == "user"
    assert got["embedding_model"] == "hash-bow" and got["indexed"] is True
    assert got["source_conversation_id"] is None and got["source_message_id"] is None
    assert got["created_at"] == got["updated_at"]
    assert "embedding" not in got and "context" not in got
    assert_error(await client.get(f"{MEMORIES}/{made['id']}", headers=eve), 404, "NOT_FOUND")
    assert_error(await client.get(f"{MEMORIES}/{uuid4()}", headers=ada), 404, "NOT_FOUND")
    assert_error(await client.get(f"{MEMORIES}/not-a-uuid", headers=ada), 422, "VALIDATION_FAILED")


async def test_patch_is_searchable_as_edited_at_once(api: Api, client: httpx.AsyncClient) -> None:
    ada, eve = await api.signup("ada"), await api.signup("eve")
    made = await remember(client, ada, "My cat is called Felix")
    for fact in FACTS:
        await remember(client, ada, fact)
    url = f"{MEMORIES}/{made['id']}"

    r = await client.patch(
        url, json={"content": "My dog is called Rex", "importance": 0.9}, headers=ada
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert (edited["content"], edited["importance"], edited["indexed"]) == (
        "My dog is called Rex",
        0.9,
        True,
    )
    assert edited["updated_at"] >= edited["created_at"] and edited["metadata"] == {}
    found = await search(client, ada, "dog Rex", k=1)
    assert found["items"][0]["id"] == made["id"]
    assert found["items"][0]["content"] == "My dog is called Rex"
    for mode in ("dense", "lexical", "hybrid"):
        old = await search(client, ada, "cat Felix", k=10, mode=mode)
        assert all("Felix" not in i["content"] for i in old["items"])

    r = await client.patch(url, json={"metadata": {"checked": True}}, headers=ada)
    assert r.status_code == 200 and r.json()["metadata"] == {"checked": True}
    assert r.json()["content"] == "My dog is called Rex"  # untouched fields stay

    assert_error(await client.patch(url, json={"content": "stolen"}, headers=eve), 404, "NOT_FOUND")
    for bad in ({"content": ""}, {"content": "   "}, {"importance": 2}, {"embedding": [1]}):
        assert_error(await client.patch(url, json=bad, headers=ada), 422, "VALIDATION_FAILED")
    assert (await client.get(url, headers=ada)).json()["content"] == "My dog is called Rex"


async def test_a_repeated_memory_updates_the_first(api: Api, client: httpx.AsyncClient) -> None:
    ada = await api.signup("ada")
    first = await remember(client, ada, "I prefer green tea", importance=0.3)
    again = await remember(client, ada, "I prefer green tea", importance=0.7)
    assert again["id"] == first["id"] and again["importance"] == 0.7
    assert await listed(client, ada) == ["I prefer green tea"]
