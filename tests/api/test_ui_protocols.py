"""The Vercel AI data stream and AG-UI endpoints: Pydantic AI's adapters speak the
protocols, and the turn is stored like every other (user message first, failures marked)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from pydantic_ai.messages import ModelResponse, TextPart

from adapters.sql.migrate import upgrade
from container import Container
from tests.api.conftest import FakeLLM, parse_sse, running, with_model
from tests.conftest import Api, make_container, make_settings


@pytest.fixture
async def client(container: Container) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    async with running(container) as (_app, http):
        yield http, await Api(http).signup("ada")


def vercel_body(*texts: tuple[str, str], chat_id: str = "chat-1") -> dict[str, Any]:
    messages = [
        {"id": f"m{i}", "role": role, "parts": [{"type": "text", "text": text}]}
        for i, (role, text) in enumerate(texts)
    ]
    return {"trigger": "submit-message", "id": chat_id, "messages": messages}


def ag_ui_body(*texts: tuple[str, str], thread: str = "thread-1") -> dict[str, Any]:
    messages = [
        {"id": f"m{i}", "role": role, "content": text} for i, (role, text) in enumerate(texts)
    ]
    return {
        "threadId": thread,
        "runId": "run-1",
        "state": {},
        "messages": messages,
        "tools": [],
        "context": [],
        "forwardedProps": {},
    }


def chunks(body: str) -> list[dict[str, Any]]:
    return [json.loads(data) for _, data in parse_sse(body) if data != "[DONE]"]


async def stored(http: httpx.AsyncClient, auth: dict[str, str], cid: str) -> list[Any]:
    r = await http.get(f"/api/v1/conversations/{cid}/messages", headers=auth)
    return [(m["role"], m["content"], m["status"]) for m in r.json()["items"]]


async def test_vercel_ai_streams_and_stores_the_turn(
    client: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, auth = client
    r = await http.post(
        "/api/v1/agents/assistant/vercel-ai", json=vercel_body(("user", "hello")), headers=auth
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-vercel-ai-ui-message-stream"] == "v1"
    events = chunks(r.text)
    assert events[0]["type"] == "start" and events[-1]["type"] == "finish"
    text = "".join(e["delta"] for e in events if e["type"] == "text-delta")
    assert text == "echo: hello (turn 1)"
    assert parse_sse(r.text)[-1][1] == "[DONE]"

    cid = r.headers["x-conversation-id"]
    assert await stored(http, auth, cid) == [
        ("user", "hello", "ok"),
        ("assistant", "echo: hello (turn 1)", "ok"),
    ]


async def test_the_clients_messages_are_the_history(
    client: tuple[httpx.AsyncClient, dict[str, str]], llm: FakeLLM
) -> None:
    http, auth = client
    body = vercel_body(("user", "my name is Ada"), ("assistant", "ahoy Ada"), ("user", "name?"))
    r = await http.post("/api/v1/agents/assistant/vercel-ai", json=body, headers=auth)
    text = "".join(e["delta"] for e in chunks(r.text) if e["type"] == "text-delta")
    assert text == "echo: name? (turn 2)"
    replies = [
        p.content
        for m in llm.seen[-1]
        if isinstance(m, ModelResponse)
        for p in m.parts
        if isinstance(p, TextPart)
    ]
    assert replies == ["ahoy Ada"]


async def test_a_stored_conversation_id_continues_it(
    client: tuple[httpx.AsyncClient, dict[str, str]], llm: FakeLLM
) -> None:
    http, auth = client
    first = await http.post(
        "/api/v1/agents/assistant/ag-ui", json=ag_ui_body(("user", "one")), headers=auth
    )
    cid = first.headers["x-conversation-id"]
    body = ag_ui_body(
        ("user", "ignored"), ("assistant", "ignored too"), ("user", "two"), thread=cid
    )
    second = await http.post("/api/v1/agents/assistant/ag-ui", json=body, headers=auth)
    assert second.headers["x-conversation-id"] == cid
    deltas = [e["delta"] for e in chunks(second.text) if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert "".join(deltas) == "echo: two (turn 2)"
    assert [m[1] for m in await stored(http, auth, cid)] == [
        "one",
        "echo: one (turn 1)",
        "two",
        "echo: two (turn 2)",
    ]


async def test_ag_ui_streams_its_events(client: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, auth = client
    r = await http.post(
        "/api/v1/agents/assistant/ag-ui",
        json=ag_ui_body(("user", "hi")),
        headers={**auth, "accept": "text/event-stream"},
    )
    assert r.status_code == 200
    kinds = [e["type"] for e in chunks(r.text)]
    assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED"
    assert {"TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END"} <= set(kinds)


async def test_tool_calls_are_streamed_and_stored(
    client: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, auth = client
    r = await http.post(
        "/api/v1/agents/assistant/vercel-ai",
        json=vercel_body(("user", "what time is it?")),
        headers=auth,
    )
    events = chunks(r.text)
    kinds = [e["type"] for e in events]
    assert "tool-input-available" in kinds and "tool-output-available" in kinds
    called = next(e for e in events if e["type"] == "tool-input-available")
    assert called["toolName"] == "current_time"
    r = await http.get(
        f"/api/v1/conversations/{r.headers['x-conversation-id']}/messages", headers=auth
    )
    reply = r.json()["items"][-1]
    assert reply["role"] == "assistant" and reply["tool_calls"][0]["name"] == "current_time"


@pytest.mark.parametrize("path", ["vercel-ai", "ag-ui"])
async def test_a_failed_turn_keeps_the_user_message(
    client: tuple[httpx.AsyncClient, dict[str, str]], llm: FakeLLM, path: str
) -> None:
    http, auth = client
    llm.down = True
    body = vercel_body(("user", "hi")) if path == "vercel-ai" else ag_ui_body(("user", "hi"))
    r = await http.post(f"/api/v1/agents/assistant/{path}", json=body, headers=auth)
    assert r.status_code == 200  # the stream had started: the error is in-band
    events = chunks(r.text)
    error = next(e for e in events if e["type"] in ("error", "RUN_ERROR"))
    assert "unavailable" in (error.get("errorText") or error.get("message") or "")
    assert await stored(http, auth, r.headers["x-conversation-id"]) == [("user", "hi", "failed")]


async def test_requests_refused_before_the_stream(
    client: tuple[httpx.AsyncClient, dict[str, str]], llm: FakeLLM
) -> None:
    http, auth = client
    url = "/api/v1/agents/assistant/vercel-ai"
    assert (await http.post(url, json=vercel_body(("user", "hi")))).status_code == 401
    r = await http.post(url, json={"messages": "nope"}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_FAILED"
    ends_on_assistant = vercel_body(("user", "a"), ("assistant", "b"))
    r = await http.post(url, json=ends_on_assistant, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "messages"
    r = await http.post(
        "/api/v1/agents/nobody/ag-ui", json=ag_ui_body(("user", "hi")), headers=auth
    )
    assert r.status_code == 404
    assert llm.seen == []
    conversations = await http.get("/api/v1/conversations", headers=auth)
    assert conversations.json()["items"] == []  # refused turns leave no trace


async def test_a_client_that_goes_away_cancels_the_turn(tmp_path: Path, llm: FakeLLM) -> None:
    """On SQLite the store's writes suspend: the failure is recorded although the response
    task is cancelled (the turn's clean-up is relayed, see `entrypoints.streaming.relay`)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/mai.db"
    await upgrade(url)
    settings = make_settings(tmp_path, database={"url": url})
    container = with_model(make_container(settings), llm.model)
    llm.stall = asyncio.Event()  # the model says one word, then thinks forever
    async with running(container) as (app, http):
        auth = await Api(http).signup("ada")
        body = json.dumps(vercel_body(("user", "tell me a story"))).encode()
        first_delta = asyncio.Event()
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": body, "more_body": False}
            await first_delta.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and b"text-delta" in message.get(
                "body", b""
            ):
                first_delta.set()

        path = "/api/v1/agents/assistant/vercel-ai"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"test"),
                (b"content-type", b"application/json"),
                (b"authorization", auth["Authorization"].encode()),
            ],
            "client": ("127.0.0.1", 1234),
            "server": ("test", 80),
        }
        with anyio.fail_after(10):
            await app(scope, receive, send)

        listed = (await http.get("/api/v1/conversations", headers=auth)).json()["items"]
        r = await http.get(f"/api/v1/conversations/{listed[0]['id']}/messages", headers=auth)
        (kept,) = r.json()["items"]
        assert kept["role"] == "user" and kept["status"] == "failed"
        assert kept["error"]["code"] == "CANCELLED"
