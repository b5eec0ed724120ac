"""A chat turn streamed on one API process is seen live by a follower on another
(events fan out through Redis pub/sub), with the real local LLM."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import REPO, Server, start_two, stop_server
from tests.e2e.test_chat_e2e import start_llm

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

FOLLOW = """subscription($id: ID!) {
  conversationEvents(conversationId: $id) { type text conversationId }
}"""


@pytest.fixture
def pair_with_llm(tmp_path: Path, scratch_pg_url: str) -> Iterator[tuple[Server, Server]]:
    url, llm = start_llm(tmp_path)
    try:
        a, b = start_two(
            tmp_path,
            scratch_pg_url,
            LM_STUDIO__BASE_URL=url,
            LM_STUDIO__TIMEOUT_SECONDS="180",
            LM_STUDIO__STRUCTURED_OUTPUT="json_object",  # the bundled server's form
            AGENTS__DIR=str(REPO / "config" / "agents"),  # the shipped assistant: no tools
        )
        try:
            yield a, b
        finally:
            stop_server(a)
            stop_server(b)
    finally:
        llm.terminate()
        try:
            llm.wait(timeout=10)
        except subprocess.TimeoutExpired:
            llm.kill()


def test_a_stream_on_one_process_reaches_a_follower_on_the_other(
    pair_with_llm: tuple[Server, Server],
) -> None:
    a, b = pair_with_llm
    a.mai("users", "create", "ada", "--email", "ada@example.com", "--password", "password123")
    token = httpx.post(
        f"{a.base_url}/api/v1/auth/login",
        json={"username": "ada", "password": "password123"},
        timeout=10,
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    first = httpx.post(
        f"{a.base_url}/api/v1/agents/assistant/run",
        json={"message": "Hi"},
        headers=auth,
        timeout=180,
    )
    assert first.status_code == 200, first.text
    cid = first.json()["conversation_id"]

    received: list[dict[str, Any]] = []
    subscribed = threading.Event()

    def follower() -> None:
        ws_url = b.base_url.replace("http://", "ws://") + "/graphql"
        with connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=30) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": auth}))
            assert json.loads(ws.recv(timeout=30))["type"] == "connection_ack"
            payload = {"query": FOLLOW, "variables": {"id": cid}}
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            subscribed.set()
            while True:
                message = json.loads(ws.recv(timeout=180))
                received.append(message)
                if message["type"] != "next":
                    return
                if message["payload"]["data"]["conversationEvents"]["type"] in ("DONE", "ERROR"):
                    return

    thread = threading.Thread(target=follower, daemon=True)
    thread.start()
    assert subscribed.wait(60)
    import time

    time.sleep(1.0)  # the server subscribes to Redis right after the subscribe message
    streamed = httpx.post(
        f"{a.base_url}/api/v1/agents/assistant/stream",
        json={"message": "Say something short.", "conversation_id": cid},
        headers=auth,
        timeout=180,
    )
    assert streamed.status_code == 200
    thread.join(timeout=180)
    events = [m["payload"]["data"]["conversationEvents"] for m in received if m["type"] == "next"]
    assert events and events[-1]["type"] == "DONE", received
    assert {e["conversationId"] for e in events} == {cid}
    deltas = "".join(e["text"] or "" for e in events if e["type"] == "DELTA")
    produced = "".join(
        json.loads(line[5:])["text"]
        for line in streamed.text.splitlines()
        if line.startswith("data:") and '"text"' in line
    )
    assert deltas == produced  # what process B relayed is what process A streamed
