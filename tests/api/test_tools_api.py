"""/tools and /approvals over REST and GraphQL, with user-declared tools (TOOLS__MODULES)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

from container import Container
from entrypoints.rest.app import create_app
from tests.api.conftest import with_model
from tests.conftest import Api, make_container, make_settings
from tests.fakes import user_texts
from tests.fixtures import demo_tools

TOOL_AGENTS = Path(__file__).parent.parent / "fixtures" / "tool_agents"


def banker(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """'transfer N to X' calls `transfer`; 'square N' calls `slow_square`; 'tools?' lists
    what it is offered; after a tool result it reports it."""
    last = messages[-1]
    if isinstance(last, ModelRequest):
        for part in last.parts:
            if isinstance(part, ToolReturnPart):
                return ModelResponse(parts=[TextPart(f"Done: {part.content}")])
    text = user_texts(messages)[-1]
    if m := re.match(r"transfer (\d+) to (\w+)", text):
        args = {"amount": float(m[1]), "to": m[2]}
        return ModelResponse(parts=[ToolCallPart("transfer", args, "call-t")])
    if m := re.match(r"square (\d+)", text):
        return ModelResponse(parts=[ToolCallPart("slow_square", {"n": int(m[1])}, "call-s")])
    return ModelResponse(
        parts=[TextPart(f"offered: {sorted(t.name for t in info.function_tools)}")]
    )


async def banker_stream(
    messages: list[ModelMessage], info: AgentInfo
) -> AsyncIterator[str | DeltaToolCalls]:
    """`banker`, streamed: the same tool calls or text, in one piece."""
    response = banker(messages, info)
    for part in response.parts:
        if isinstance(part, ToolCallPart):
            args = part.args_as_json_str()
            yield {
                0: DeltaToolCall(
                    name=part.tool_name, json_args=args, tool_call_id=part.tool_call_id
                )
            }
        elif isinstance(part, TextPart):
            yield part.content


BANKER = FunctionModel(banker, stream_function=banker_stream)


@pytest.fixture
def container(tmp_path: Path) -> Container:
    settings = make_settings(
        tmp_path,
        agents={"dir": str(TOOL_AGENTS)},
        tools={"modules": ["tests.fixtures.demo_tools"]},
    )
    demo_tools.CALLS.update(slow_square=0, transfer=0)
    return with_model(make_container(settings), BANKER)


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container, configure_logs=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def superuser(container: Container, api: Api, name: str = "root") -> dict[str, str]:
    await container.register_user().execute(
        name, f"{name}@example.com", "password123", is_superuser=True
    )
    tokens = await api.login(name)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_tools_are_listed_with_their_metadata(api: Api, client: httpx.AsyncClient) -> None:
    ada = await api.signup("ada")
    r = await client.get("/api/v1/tools", headers=ada)
    assert r.status_code == 200
    tools = {t["name"]: t for t in r.json()["items"]}
    assert {"calculator", "current_time", "recall_memory", "remember", "transfer"} <= set(tools)
    assert tools["transfer"]["requires_approval"] is True
    assert tools["slow_square"]["category"] == "demo"
    assert tools["slow_square"]["parameters"]["required"] == ["n"]
    r = await client.get("/api/v1/tools?category=math", headers=ada)
    assert [t["name"] for t in r.json()["items"]] == ["calculator"]
    assert (await client.get("/api/v1/tools/nope", headers=ada)).json()["error"]["code"] == (
        "TOOL_NOT_FOUND"
    )
    assert (await client.get("/api/v1/tools")).status_code == 401


async def test_only_a_superuser_switches_tools_and_agents_follow(
    api: Api, client: httpx.AsyncClient, container: Container
) -> None:
    ada = await api.signup("ada")
    r = await client.patch("/api/v1/tools/calculator", json={"enabled": False}, headers=ada)
    assert r.status_code == 403 and r.json()["error"]["code"] == "PERMISSION_DENIED"
    root = await superuser(container, api)
    r = await client.patch("/api/v1/tools/calculator", json={"enabled": False}, headers=root)
    assert r.status_code == 200 and r.json()["enabled"] is False
    r = await client.post("/api/v1/agents/banker/run", json={"message": "tools?"}, headers=ada)
    assert r.json()["output"] == "offered: ['slow_square', 'transfer']"
    r = await client.post(
        "/api/v1/tools/calculator/invoke", json={"args": {"expression": "1+1"}}, headers=ada
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "TOOL_DISABLED"
    r = await client.patch("/api/v1/tools/calculator", json={"enabled": True}, headers=root)
    r = await client.post("/api/v1/agents/banker/run", json={"message": "tools?"}, headers=ada)
    assert "calculator" in r.json()["output"]
    r = await client.patch("/api/v1/tools/nope", json={"enabled": True}, headers=root)
    assert r.status_code == 404
    r = await client.patch("/api/v1/tools/calculator", json={"enabled": "maybe"}, headers=root)
    assert r.status_code == 422


async def test_invoke_caches_and_rate_limits_with_retry_after(
    api: Api, client: httpx.AsyncClient
) -> None:
    ada = await api.signup("ada")

    async def square(n: int) -> httpx.Response:
        return await client.post(
            "/api/v1/tools/slow_square/invoke", json={"args": {"n": n}}, headers=ada
        )

    first, again = await square(4), await square(4)
    assert first.json() == again.json() == {"tool": "slow_square", "version": "1.0.0", "result": 16}
    assert demo_tools.CALLS["slow_square"] == 1  # the second was a cache hit
    assert (await square(5)).status_code == 200
    limited = await square(6)  # 4th call this minute: the limit is 3
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    bad = await client.post(
        "/api/v1/tools/slow_square/invoke", json={"args": {"n": "x"}}, headers=ada
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_FAILED"


async def test_an_approval_gated_call_waits_then_resumes(
    api: Api, client: httpx.AsyncClient
) -> None:
    ada, bob = await api.signup("ada"), await api.signup("bob")
    r = await client.post(
        "/api/v1/agents/banker/run", json={"message": "transfer 10 to carol"}, headers=ada
    )
    assert r.status_code == 200, r.text
    paused = r.json()
    pending = paused["pending_approval"]
    assert paused["output"] is None and pending["status"] == "pending"
    assert pending["calls"] == [
        {"id": "call-t", "name": "transfer", "args": {"amount": 10.0, "to": "carol"}}
    ]
    assert demo_tools.CALLS["transfer"] == 0  # nothing ran yet
    listed = (await client.get("/api/v1/approvals?status=pending", headers=ada)).json()["items"]
    assert [a["id"] for a in listed] == [pending["id"]]
    # Bob can neither see nor decide Ada's approval.
    assert (await client.get(f"/api/v1/approvals/{pending['id']}", headers=bob)).status_code == 404
    r = await client.post(f"/api/v1/approvals/{pending['id']}", json={"approve": True}, headers=bob)
    assert r.status_code == 404
    assert (await client.get("/api/v1/approvals", headers=bob)).json()["items"] == []

    r = await client.post(f"/api/v1/approvals/{pending['id']}", json={"approve": True}, headers=ada)
    assert r.status_code == 200, r.text
    assert r.json()["output"] == "Done: sent 10.00 to carol"
    assert demo_tools.CALLS["transfer"] == 1
    again = await client.post(
        f"/api/v1/approvals/{pending['id']}", json={"approve": False}, headers=ada
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "APPROVAL_ALREADY_RESOLVED"
    cid = paused["conversation_id"]
    messages = (await client.get(f"/api/v1/conversations/{cid}/messages", headers=ada)).json()
    items = messages["items"]
    assert [m["role"] for m in items] == ["user", "assistant"]
    assert items[0]["status"] == "ok" and items[1]["content"] == "Done: sent 10.00 to carol"


async def test_a_rejected_call_is_not_run_and_the_model_is_told(
    api: Api, client: httpx.AsyncClient
) -> None:
    ada = await api.signup("ada")
    r = await client.post(
        "/api/v1/agents/banker/run", json={"message": "transfer 99 to mallory"}, headers=ada
    )
    approval = r.json()["pending_approval"]["id"]
    r = await client.post(
        f"/api/v1/approvals/{approval}",
        json={"approve": False, "reason": "not to mallory"},
        headers=ada,
    )
    assert r.status_code == 200 and r.json()["output"] == "Done: not to mallory"
    assert demo_tools.CALLS["transfer"] == 0
    status = (await client.get(f"/api/v1/approvals/{approval}", headers=ada)).json()["status"]
    assert status == "rejected"


async def test_a_streamed_turn_ends_with_the_pending_approval(
    api: Api, client: httpx.AsyncClient
) -> None:
    from tests.api.conftest import sse_json

    ada = await api.signup("ada")
    r = await client.post(
        "/api/v1/agents/banker/stream", json={"message": "transfer 5 to dan"}, headers=ada
    )
    events = sse_json(r.text)
    assert events[-1][0] == "done"
    assert events[-1][1]["pending_approval"]["calls"][0]["name"] == "transfer"


async def gql(
    client: httpx.AsyncClient, query: str, headers: dict[str, str], **variables: Any
) -> Any:
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    return r.json()


async def test_graphql_tools_switches_and_approvals(
    api: Api, client: httpx.AsyncClient, container: Container
) -> None:
    ada = await api.signup("ada")
    body = await gql(client, "{ tools { name version enabled requiresApproval source } }", ada)
    names = {t["name"] for t in body["data"]["tools"]}
    assert {"calculator", "transfer"} <= names
    toggle = (
        "mutation($n: String!, $e: Boolean!) "
        "{ setToolEnabled(name: $n, enabled: $e) { name enabled } }"
    )
    denied = await gql(client, toggle, ada, n="calculator", e=False)
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    root = await superuser(container, api)
    done = await gql(client, toggle, root, n="calculator", e=False)
    assert done["data"]["setToolEnabled"] == {"name": "calculator", "enabled": False}

    send = (
        'mutation { sendMessage(agent: "banker", message: "transfer 3 to eve") '
        "{ output pendingApproval } }"
    )
    sent = (await gql(client, send, ada))["data"]["sendMessage"]
    approval_id = sent["pendingApproval"]["id"]
    pending = await gql(client, "{ approvals { id status calls } }", ada)
    assert [a["id"] for a in pending["data"]["approvals"]] == [approval_id]
    resolve = "mutation($id: ID!) { resolveApproval(id: $id, approve: true) { output } }"
    resolved = await gql(client, resolve, ada, id=approval_id)
    assert resolved["data"]["resolveApproval"]["output"] == "Done: sent 3.00 to eve"
    assert (await gql(client, "{ approvals { id } }", ada))["data"]["approvals"] == []
