from __future__ import annotations

from pytest_bdd import given, parsers, scenarios, then, when

from domain.conversations.models import Conversation
from tests.step_defs.conftest import World

scenarios("identity/auth.feature", "identity/isolation.feature")


@when(parsers.parse('"{user}" refreshes her tokens'))
def refresh(world: World, user: str) -> None:
    old = world.tokens[user]["refresh_token"]
    r = world.request("POST", "/api/v1/auth/refresh", json={"refresh_token": old})
    assert r.status_code == 200, r.text
    world.previous_refresh[user] = old
    world.tokens[user] = r.json()


@when(parsers.parse('"{user}" replays her previous refresh token'))
def replay(world: World, user: str) -> None:
    world.request(
        "POST", "/api/v1/auth/refresh", json={"refresh_token": world.previous_refresh[user]}
    )


@when(parsers.parse('"{user}" signs out'))
def sign_out(world: World, user: str) -> None:
    assert world.request("POST", "/api/v1/auth/logout", user=user).status_code == 204


@then(parsers.parse('"{user}" can see her own profile'))
def sees_profile(world: World, user: str) -> None:
    r = world.request("GET", "/api/v1/users/me", user=user)
    assert r.status_code == 200 and r.json()["username"] == user


@then(parsers.parse('"{user}" can no longer see her profile'))
def cannot_see_profile(world: World, user: str) -> None:
    assert world.request("GET", "/api/v1/users/me", user=user).status_code == 401


@given(parsers.parse('"{user}" has a conversation titled "{title}"'))
def has_conversation(world: World, user: str, title: str) -> None:
    async def make() -> str:
        found = await world.container.users().get_by_username(user)
        assert found is not None
        conv = Conversation(user_id=found.id, agent_name="assistant", title=title)
        await world.container.conversation_store().create(conv)
        return str(conv.id)

    world.conversations[(user, title)] = world.run(make())


@when(parsers.parse('"{user}" opens "{owner}"\'s conversation "{title}"'))
def open_conversation(world: World, user: str, owner: str, title: str) -> None:
    world.request("GET", f"/api/v1/conversations/{world.conversations[(owner, title)]}", user=user)


@when(parsers.parse('"{user}" deletes "{owner}"\'s conversation "{title}"'))
def delete_conversation(world: World, user: str, owner: str, title: str) -> None:
    world.request(
        "DELETE", f"/api/v1/conversations/{world.conversations[(owner, title)]}", user=user
    )


@when(parsers.parse('"{user}" lists her conversations'))
def list_conversations(world: World, user: str) -> None:
    world.request("GET", "/api/v1/conversations", user=user)


@then("she sees no conversations")
def sees_none(world: World) -> None:
    assert world.response is not None and world.response.json()["items"] == []


@when(parsers.parse('"{user}" asks GraphQL for "{owner}"\'s conversation "{title}"'))
def graphql_conversation(world: World, user: str, owner: str, title: str) -> None:
    query = "query($id: ID!) { conversation(id: $id) { title } }"
    variables = {"id": world.conversations[(owner, title)]}
    world.request("POST", "/graphql", user=user, json={"query": query, "variables": variables})


@then(parsers.parse('the GraphQL error code is "{code}"'))
def graphql_error(world: World, code: str) -> None:
    assert world.response is not None
    assert world.response.json()["errors"][0]["extensions"]["error"]["code"] == code
