"""`conversationEvents`: followers see a conversation's turns as they happen."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from container import Container
from entrypoints.rest.app import create_app

FOLLOW = """subscription($id: ID!) {
  conversationEvents(conversationId: $id) { type text conversationId messageId }
}"""


def signup(tc: TestClient, name: str) -> dict[str, str]:
    tc.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": "password123"},
    )
    r = tc.post("/api/v1/auth/login", json={"username": name, "password": "password123"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def follow(tc: TestClient, auth: dict[str, str], cid: str) -> Any:
    ws = tc.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    session = ws.__enter__()
    session.send_json({"type": "connection_init", "payload": auth})
    assert session.receive_json() == {"type": "connection_ack"}
    session.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": FOLLOW, "variables": {"id": cid}}}
    )
    time.sleep(0.2)  # let the server subscribe before the turn starts
    return ws, session


def test_a_follower_sees_streamed_and_whole_turns(container: Container) -> None:
    with TestClient(create_app(container, configure_logs=False)) as tc:
        ada = signup(tc, "ada")
        first = tc.post("/api/v1/agents/assistant/run", json={"message": "hi"}, headers=ada)
        cid = first.json()["conversation_id"]
        ws, session = follow(tc, ada, cid)
        try:
            r = tc.post(
                "/api/v1/agents/assistant/stream",
                json={"message": "tell me more", "conversation_id": cid},
                headers=ada,
            )
            assert r.status_code == 200
            events = []
            while not events or events[-1]["type"] != "DONE":
                message = session.receive_json()
                assert message["type"] == "next", message
                events.append(message["payload"]["data"]["conversationEvents"])
            text = "".join(e["text"] or "" for e in events if e["type"] == "DELTA")
            assert text == "echo: tell me more (turn 2)"
            assert {e["conversationId"] for e in events} == {cid}
            tc.post(
                "/api/v1/agents/assistant/run",
                json={"message": "and again", "conversation_id": cid},
                headers=ada,
            )
            done = session.receive_json()["payload"]["data"]["conversationEvents"]
            assert done["type"] == "DONE" and done["messageId"]
        finally:
            ws.__exit__(None, None, None)


def test_only_the_owner_can_follow(container: Container) -> None:
    with TestClient(create_app(container, configure_logs=False)) as tc:
        ada, bob = signup(tc, "ada"), signup(tc, "bob")
        cid = tc.post("/api/v1/agents/assistant/run", json={"message": "hi"}, headers=ada).json()[
            "conversation_id"
        ]
        ws, session = follow(tc, bob, cid)
        try:
            message = session.receive_json()
            assert message["type"] == "next"
            assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        finally:
            ws.__exit__(None, None, None)
