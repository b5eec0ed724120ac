"""Chat end to end: a real `mai serve`, the real local LLM (SmolLM2-135M on llama.cpp),
driven over HTTP, SSE, GraphQL over WebSocket, the openai SDK and the CLI. The model is
tiny: these tests assert on protocol and persistence, not on what it says."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import Server, server_env, start_server, stop_server
from tests.integration.conftest import ensure_model, free_port, llm_command, wait_until_ready

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]


def start_llm(tmp: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    log = tmp / "llm.log"
    cmd = llm_command(ensure_model(), port)
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    wait_until_ready(url, process, log)
    return url, process


@pytest.fixture
def chat_server(tmp_path: Path) -> Iterator[tuple[Server, subprocess.Popen[bytes]]]:
    url, llm = start_llm(tmp_path)
    env = server_env(
        tmp_path,
        LM_STUDIO__BASE_URL=url,
        LM_STUDIO__TIMEOUT_SECONDS="180",
        LM_STUDIO__MAX_RETRIES="1",
        LM_STUDIO__STRUCTURED_OUTPUT="json_object",  # the bundled server's form (make run)
    )
    server = start_server(tmp_path, env)
    yield server, llm
    stop_server(server)
    if llm.poll() is None:
        llm.terminate()
        llm.wait(timeout=10)


def login(http: httpx.Client) -> dict[str, str]:
    creds = {"username": "ada", "password": "password123"}
    http.post("/api/v1/auth/register", json={**creds, "email": "ada@example.com"})
    token = http.post("/api/v1/auth/login", json=creds).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def sse_events(body: str) -> list[tuple[str, Any]]:
    events, name = [], None
    for line in body.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            events.append((name, json.loads(line.split(":", 1)[1])))
            name = None
    return events


def test_rest_sse_graphql_openai_and_cli_against_the_local_model(
    chat_server: tuple[Server, Any],
) -> None:
    server, _ = chat_server
    with httpx.Client(base_url=server.base_url, timeout=120) as http:
        auth = login(http)
        assert http.get("/ready").json()["adapters"]["llm"]["ok"] is True

        run = http.post(
            "/api/v1/agents/assistant/run", json={"message": "Say hello."}, headers=auth
        )
        assert run.status_code == 200, run.text
        cid = run.json()["conversation_id"]
        assert run.json()["usage"]["output_tokens"] > 0

        stream = http.post(
            "/api/v1/agents/assistant/stream",
            json={"message": "And again, briefly.", "conversation_id": cid},
            headers=auth,
        )
        events = sse_events(stream.text)
        assert events[-1][0] == "done", events[-3:]
        assert {name for name, _ in events} <= {"delta", "tool_call", "tool_result", "done"}

        messages = http.get(f"/api/v1/conversations/{cid}/messages", headers=auth).json()["items"]
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
        assert messages[-1]["id"] == events[-1][1]["message_id"]

    ws_url = server.base_url.replace("http", "ws") + "/graphql"
    with connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:  # type: ignore[list-item]
        ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": auth["Authorization"]}}
            )
        )
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        query = (
            'subscription { chat(agent: "assistant", message: "Hi there") '
            "{ type text conversationId messageId } }"
        )
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        kinds = []
        while True:
            frame = json.loads(ws.recv(timeout=120))
            if frame["type"] == "complete":
                break
            assert frame["type"] == "next", frame
            kinds.append(frame["payload"]["data"]["chat"]["type"])
        assert kinds[-1] == "DONE" and set(kinds) <= {"DELTA", "TOOL_CALL", "TOOL_RESULT", "DONE"}

    from openai import OpenAI

    client = OpenAI(
        base_url=server.base_url + "/v1", api_key=auth["Authorization"].split()[1], timeout=120
    )
    assert "assistant" in [m.id for m in client.models.list().data]
    completion = client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "Hello!"}]
    )
    assert completion.choices[0].message.role == "assistant"
    chunks = list(
        client.chat.completions.create(
            model="assistant", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    )
    assert chunks[-1].choices == [] or chunks[-1].choices[0].finish_reason == "stop"

    cli = server.mai("chat", "Hello from the command line", "--user", "local")
    assert "conversation" in cli.stderr.lower()


def test_llm_stopping_mid_conversation_keeps_the_user_message(
    chat_server: tuple[Server, Any],
) -> None:
    server, llm = chat_server
    with httpx.Client(base_url=server.base_url, timeout=120) as http:
        auth = login(http)
        first = http.post("/api/v1/agents/assistant/run", json={"message": "Hello."}, headers=auth)
        assert first.status_code == 200
        cid = first.json()["conversation_id"]
        llm.terminate()
        llm.wait(timeout=10)
        down = http.post(
            "/api/v1/agents/assistant/run",
            json={"message": "Still there?", "conversation_id": cid},
            headers=auth,
        )
        assert down.status_code == 503, down.text
        error = down.json()["error"]
        assert error["code"] == "MODEL_UNAVAILABLE" and error["retryable"] is True
        messages = http.get(f"/api/v1/conversations/{cid}/messages", headers=auth).json()["items"]
        assert [(m["role"], m["status"]) for m in messages] == [
            ("user", "ok"),
            ("assistant", "ok"),
            ("user", "failed"),
        ]
        assert messages[-1]["content"] == "Still there?"
        assert http.get("/ready").json()["adapters"]["llm"]["ok"] is False
