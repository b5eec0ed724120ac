"""Conversations over REST and GraphQL: pagination, soft delete, and isolation between users."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx

from container import Container
from domain.conversations.models import Conversation, Message, Role
from tests.conftest import Api


async def seed(container: Container, username: str, n: int = 3) -> list[Conversation]:
    users = container.users()
    user = await users.get_by_username(username)
    assert user is not None
    store = container.conversation_store()
    made = []
    for i in range(n):
        c = Conversation(user_id=user.id, agent_name="assistant", title=f"{username} #{i}")
        await store.create(c)
        await store.add_message(
            user.id, Message(conversation_id=c.id, role=Role.USER, content=f"hi {i}")
        )
        await store.add_message(
            user.id, Message(conversation_id=c.id, role=Role.ASSISTANT, content=f"hello {i}")
        )
        made.append(c)
    return made


async def test_list_get_messages_delete(
    api: Api, client: httpx.AsyncClient, container: Container
) -> None:
    h = await api.signup("ada")
    convs = await seed(container, "ada", 5)

    r = await client.get("/api/v1/conversations", params={"limit": 2}, headers=h)
    assert r.status_code == 200
    page1 = r.json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    seen = [c["id"] for c in page1["items"]]
    cursor = page1["next_cursor"]
    while cursor:
        r = await client.get(
            "/api/v1/conversations", params={"limit": 2, "after": cursor}, headers=h
        )
        seen += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
    assert seen == [str(c.id) for c in reversed(convs)]  # most recently updated first

    target = convs[0].id
    r = await client.get(f"/api/v1/conversations/{target}", headers=h)
    assert r.status_code == 200 and r.json()["title"] == "ada #0"
    r = await client.get(f"/api/v1/conversations/{target}/messages", headers=h)
    assert [m["role"] for m in r.json()["items"]] == ["user", "assistant"]

    assert (await client.delete(f"/api/v1/conversations/{target}", headers=h)).status_code == 204
    assert (await client.get(f"/api/v1/conversations/{target}", headers=h)).status_code == 404
    assert (await client.delete(f"/api/v1/conversations/{target}", headers=h)).status_code == 404


async def test_bad_ids_and_cursors_are_clear_errors(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    r = await client.get("/api/v1/conversations/not-a-uuid", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_FAILED"
    r = await client.get("/api/v1/conversations", params={"after": "garbage!!"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "after"
    r = await client.get(f"/api/v1/conversations/{uuid4()}", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"


async def test_another_users_conversation_is_404_everywhere(
    api: Api, client: httpx.AsyncClient, container: Container
) -> None:
    ada = await api.signup("ada")
    eve = await api.signup("eve")
    (victim,) = await seed(container, "ada", 1)
    for method, path in [
        ("GET", f"/api/v1/conversations/{victim.id}"),
        ("GET", f"/api/v1/conversations/{victim.id}/messages"),
        ("DELETE", f"/api/v1/conversations/{victim.id}"),
    ]:
        r = await client.request(method, path, headers=eve)
        assert r.status_code == 404, (method, path)
    assert (await client.get("/api/v1/conversations", headers=eve)).json()["items"] == []
    # ada still has it, untouched
    assert (await client.get(f"/api/v1/conversations/{victim.id}", headers=ada)).status_code == 200


async def gql(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_graphql_me_conversations_and_messages(
    api: Api, client: httpx.AsyncClient, container: Container
) -> None:
    h = await api.signup("ada")
    convs = await seed(container, "ada", 3)
    body = await gql(
        client,
        "{ me { username } conversations(first: 2) "
        "{ items { id title messages { role content } } nextCursor } }",
        h,
    )
    assert body["data"]["me"]["username"] == "ada"
    items = body["data"]["conversations"]["items"]
    assert [i["id"] for i in items] == [str(convs[2].id), str(convs[1].id)]
    assert items[0]["messages"] == [
        {"role": "user", "content": "hi 2"},
        {"role": "assistant", "content": "hello 2"},
    ]
    body = await gql(
        client, "query($id: ID!) { conversation(id: $id) { title } }", h, id=str(convs[0].id)
    )
    assert body["data"]["conversation"]["title"] == "ada #0"


async def test_graphql_isolation_and_auth_errors(
    api: Api, client: httpx.AsyncClient, container: Container
) -> None:
    await api.signup("ada")
    eve = await api.signup("eve")
    (victim,) = await seed(container, "ada", 1)
    body = await gql(
        client, "query($id: ID!) { conversation(id: $id) { title } }", eve, id=str(victim.id)
    )
    err = body["errors"][0]["extensions"]["error"]
    assert err["code"] == "NOT_FOUND" and set(err) == {"code", "message", "details", "retryable"}
    body = await gql(client, "{ conversations { items { id } } }", eve)
    assert body["data"]["conversations"]["items"] == []

    body = await gql(client, "{ me { username } }")
    assert body["errors"][0]["extensions"]["code"] == "AUTHENTICATION_FAILED"
    body = await gql(client, "{ me { username } }", {"Authorization": "Bearer garbage"})
    assert body["errors"][0]["extensions"]["code"] == "AUTHENTICATION_FAILED"
    body = await gql(client, "query($id: ID!) { conversation(id: $id) { title } }", eve, id="nope")
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_graphql_limits(client: httpx.AsyncClient) -> None:
    assert "errors" not in (await gql(client, "{ health { status } }"))
    aliases = "{ " + " ".join(f"a{i}: health {{ status }}" for i in range(20)) + " }"
    body = await gql(client, aliases)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "alias" in body["errors"][0]["message"].lower()
    nested = "status"
    for _ in range(12):
        nested = f"health {{ {nested} }}"
    nested = "{ " + nested + " }"
    body = await gql(client, nested)
    assert any("depth" in e["message"] for e in body["errors"])
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


async def test_graphql_syntax_error_has_the_contract_shape(client: httpx.AsyncClient) -> None:
    r = await client.post("/graphql", json={"query": "{ health { "})
    body = r.json()
    assert body["errors"][0]["extensions"]["error"]["code"] == "GRAPHQL_VALIDATION_FAILED"
