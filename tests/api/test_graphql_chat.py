"""Agents and chat over GraphQL: the `agents` query, `sendMessage`, and the `chat`
subscription spoken for real over WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from container import Container
from entrypoints.rest.app import create_app
from tests.api.conftest import FakeLLM
from tests.conftest import Api

SEND = """mutation($agent: String!, $message: String!, $cid: ID) {
  sendMessage(agent: $agent, message: $message, conversationId: $cid) {
    conversationId messageId output usage { requests totalTokens toolCalls }
  }
}"""
CHAT = """subscription($agent: String!, $message: String!, $cid: ID) {
  chat(agent: $agent, message: $message, conversationId: $cid) {
    type text conversationId messageId data
  }
}"""


async def gql(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def error_code(body: dict[str, Any]) -> str:
    error = body["errors"][0]["extensions"]["error"]
    assert set(error) == {"code", "message", "details", "retryable"}
    return str(error["code"])


async def test_agents_query(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    body = await gql(client, "{ agents { name description outputType tools } }", h)
    (assistant,) = [a for a in body["data"]["agents"] if a["name"] == "assistant"]
    assert assistant["outputType"] == "text" and assistant["tools"] == ["current_time"]
    assert error_code(await gql(client, "{ agents { name } }")) == "AUTHENTICATION_FAILED"


async def test_send_message_turn_after_turn(
    api: Api, client: httpx.AsyncClient, llm: FakeLLM
) -> None:
    h = await api.signup("ada")
    first = (await gql(client, SEND, h, agent="assistant", message="hello"))["data"]["sendMessage"]
    assert first["output"] == "echo: hello (turn 1)"
    assert first["usage"]["requests"] == 1 and first["usage"]["totalTokens"] > 0

    body = await gql(
        client, SEND, h, agent="assistant", message="again", cid=first["conversationId"]
    )
    second = body["data"]["sendMessage"]
    assert second["output"] == "echo: again (turn 2)"
    assert second["conversationId"] == first["conversationId"]

    body = await gql(
        client,
        "query($id: ID!) { conversation(id: $id) { messages { id role content } } }",
        h,
        id=first["conversationId"],
    )
    messages = body["data"]["conversation"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[-1]["id"] == second["messageId"]


async def test_send_message_errors(api: Api, client: httpx.AsyncClient, llm: FakeLLM) -> None:
    h = await api.signup("ada")
    cases = [
        ({"agent": "nobody", "message": "hi"}, "NOT_FOUND"),
        ({"agent": "assistant", "message": " "}, "VALIDATION_FAILED"),
        ({"agent": "assistant", "message": "hi", "cid": "nope"}, "VALIDATION_FAILED"),
        (
            {"agent": "assistant", "message": "hi", "cid": "6b0d0b8e-7c1a-4a52-9d6b-2b3a4f5e6d7c"},
            "NOT_FOUND",
        ),
    ]
    for variables, code in cases:
        assert error_code(await gql(client, SEND, h, **variables)) == code, variables
    assert error_code(await gql(client, SEND, agent="assistant", message="hi")) == (
        "AUTHENTICATION_FAILED"
    )

    llm.down = True
    body = await gql(client, SEND, h, agent="assistant", message="hi")
    assert error_code(body) == "MODEL_UNAVAILABLE"
    assert body["errors"][0]["extensions"]["error"]["retryable"] is True


# --- the subscription, over a real WebSocket -------------------------------------------


@pytest.fixture
def ws_app(container: Container) -> Iterator[tuple[TestClient, str]]:
    """A started app in a TestClient, and an access token for "ada"."""
    with TestClient(create_app(container, configure_logs=False)) as tc:
        r = tc.post(
            "/api/v1/auth/register",
            json={"username": "ada", "email": "ada@example.com", "password": "password123"},
        )
        assert r.status_code == 201
        r = tc.post("/api/v1/auth/login", json={"username": "ada", "password": "password123"})
        yield tc, r.json()["access_token"]


class Subscriber:
    """Speaks graphql-transport-ws: connection_init → ack → subscribe → next… → complete."""

    def __init__(self, tc: TestClient, token: str | None) -> None:
        self.tc = tc
        self.params = {} if token is None else {"Authorization": f"Bearer {token}"}

    def run(self, **variables: Any) -> list[dict[str, Any]]:
        """Every message of operation "1" up to and including complete/error."""
        with self.tc.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": self.params})
            assert ws.receive_json() == {"type": "connection_ack"}
            ws.send_json(
                {"id": "1", "type": "subscribe", "payload": {"query": CHAT, "variables": variables}}
            )
            received = []
            while True:
                message = ws.receive_json()
                assert message["id"] == "1"
                received.append(message)
                if message["type"] in ("complete", "error"):
                    return received


def events_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert messages[-1]["type"] == "complete"
    return [m["payload"]["data"]["chat"] for m in messages if m["type"] == "next"]


def test_chat_subscription_streams_deltas_then_done(ws_app: tuple[TestClient, str]) -> None:
    tc, token = ws_app
    events = events_of(Subscriber(tc, token).run(agent="assistant", message="tell me a story"))
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "DONE" and set(kinds[:-1]) == {"DELTA"} and len(kinds) > 2
    text = "".join(e["text"] for e in events if e["type"] == "DELTA")
    assert text == "echo: tell me a story (turn 1)"
    done = events[-1]
    assert done["messageId"] and done["data"]["usage"]["requests"] == 1
    assert done["data"]["output"] == text
    assert len({e["conversationId"] for e in events}) == 1

    # The next turn continues the conversation.
    again = events_of(
        Subscriber(tc, token).run(agent="assistant", message="more", cid=done["conversationId"])
    )
    assert "".join(e["text"] or "" for e in again) == "echo: more (turn 2)"


def test_chat_subscription_reports_tool_calls(ws_app: tuple[TestClient, str]) -> None:
    tc, token = ws_app
    events = events_of(Subscriber(tc, token).run(agent="assistant", message="what time is it?"))
    call, result = events[0], events[1]
    assert call["type"] == "TOOL_CALL" and call["data"]["name"] == "current_time"
    assert call["data"]["args"] == {"timezone": "UTC"}
    assert result["type"] == "TOOL_RESULT" and result["data"]["id"] == call["data"]["id"]
    assert (
        events[-1]["type"] == "DONE" and events[-1]["data"]["usage"]["tool_calls"] == 1
    )  # data is the SSE payload


@pytest.mark.parametrize(
    ("token", "variables", "code"),
    [
        (None, {"agent": "assistant", "message": "hi"}, "AUTHENTICATION_FAILED"),
        ("garbage", {"agent": "assistant", "message": "hi"}, "AUTHENTICATION_FAILED"),
        ("valid", {"agent": "nobody", "message": "hi"}, "NOT_FOUND"),
        ("valid", {"agent": "assistant", "message": ""}, "VALIDATION_FAILED"),
        ("valid", {"agent": "assistant", "message": "hi", "cid": "nope"}, "VALIDATION_FAILED"),
    ],
)
def test_chat_subscription_errors_before_the_stream(
    ws_app: tuple[TestClient, str], token: str | None, variables: dict[str, Any], code: str
) -> None:
    tc, valid = ws_app
    messages = Subscriber(tc, valid if token == "valid" else token).run(**variables)
    assert messages[-1]["type"] == "complete"
    (error,) = messages[0]["payload"]["errors"]
    assert error["extensions"]["code"] == code
    assert set(error["extensions"]["error"]) == {"code", "message", "details", "retryable"}


def test_chat_subscription_model_down_is_an_error_event(
    ws_app: tuple[TestClient, str], llm: FakeLLM
) -> None:
    tc, token = ws_app
    llm.down = True
    (event,) = events_of(Subscriber(tc, token).run(agent="assistant", message="hi"))
    assert event["type"] == "ERROR"
    assert event["text"] == "The language model is unavailable right now."
    assert event["data"]["error"]["code"] == "MODEL_UNAVAILABLE"
    assert event["data"]["error"]["retryable"] is True


def test_completing_the_subscription_cancels_the_turn(
    ws_app: tuple[TestClient, str], llm: FakeLLM
) -> None:
    tc, token = ws_app
    llm.stall = asyncio.Event()  # never set: the model thinks forever after one word
    with tc.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        ws.receive_json()
        variables = {"agent": "assistant", "message": "a long story"}
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": CHAT, "variables": variables}}
        )
        first = ws.receive_json()
        assert first["payload"]["data"]["chat"]["type"] == "DELTA"
        cid = first["payload"]["data"]["chat"]["conversationId"]
        ws.send_json({"id": "1", "type": "complete"})

    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(100):  # the server finishes the cancelled turn on its own time
        items = tc.get(f"/api/v1/conversations/{cid}/messages", headers=headers).json()["items"]
        if items[0]["status"] == "failed":
            break
        time.sleep(0.02)
    (kept,) = items
    assert kept["role"] == "user" and kept["status"] == "failed"
    assert kept["error"]["code"] == "CANCELLED"


def test_the_subscription_needs_the_protocol(ws_app: tuple[TestClient, str]) -> None:
    tc, _token = ws_app
    with (
        pytest.raises(WebSocketDisconnect),
        tc.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": CHAT}})
        ws.receive_json()
