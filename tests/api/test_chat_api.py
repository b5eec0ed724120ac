"""Agents and chat over REST: whole turns, SSE streams, failures that lose nothing."""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from typing import Any
from uuid import UUID, uuid4

import anyio
import httpx
import pytest
from pydantic_ai.messages import ModelResponse

from adapters.sql import migrate
from domain.agents.events import DeltaEvent
from entrypoints.streaming import relay
from tests.api.conftest import FakeLLM, running, sse_json, user_texts, with_model
from tests.conftest import Api, make_container, make_settings

RUN = "/api/v1/agents/{}/run"
STREAM = "/api/v1/agents/{}/stream"


async def messages_of(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: str
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def only_conversation(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.get("/api/v1/conversations", headers=headers)
    (conversation,) = r.json()["items"]
    return str(conversation["id"])


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and set(error) == {"code", "message", "details", "retryable"}
    return dict(error)


async def test_agents_are_listed_and_described(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    r = await client.get("/api/v1/agents", headers=h)
    assert r.status_code == 200
    (assistant,) = [a for a in r.json()["items"] if a["name"] == "assistant"]
    assert assistant["tools"] == ["current_time"] and assistant["output_type"] == "text"
    assert assistant["description"]

    r = await client.get("/api/v1/agents/assistant", headers=h)
    assert r.status_code == 200 and r.json() == assistant
    assert_error(await client.get("/api/v1/agents/nobody", headers=h), 404, "NOT_FOUND")
    assert_error(await client.get("/api/v1/agents"), 401, "AUTHENTICATION_FAILED")


async def test_a_second_turn_sees_the_first(
    api: Api, client: httpx.AsyncClient, llm: FakeLLM
) -> None:
    h = await api.signup("ada")
    r = await client.post(RUN.format("assistant"), json={"message": "hello"}, headers=h)
    assert r.status_code == 200, r.text
    first = r.json()
    assert set(first) == {"conversation_id", "message_id", "output", "usage", "pending_approval"}
    assert first["pending_approval"] is None
    assert first["output"] == "echo: hello (turn 1)"
    assert first["usage"]["requests"] == 1 and first["usage"]["total_tokens"] > 0

    body = {"message": "how are you?", "conversation_id": first["conversation_id"]}
    r = await client.post(RUN.format("assistant"), json=body, headers=h)
    second = r.json()
    assert second["output"] == "echo: how are you? (turn 2)"
    assert second["conversation_id"] == first["conversation_id"]

    seen = llm.seen[-1]  # what the model was shown on the second turn
    assert user_texts(seen) == ["hello", "how are you?"]
    replies = [p.content for m in seen if isinstance(m, ModelResponse) for p in m.parts]
    assert replies == ["echo: hello (turn 1)"]

    stored = await messages_of(client, h, first["conversation_id"])
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "hello"),
        ("assistant", "echo: hello (turn 1)"),
        ("user", "how are you?"),
        ("assistant", "echo: how are you? (turn 2)"),
    ]
    assert stored[3]["id"] == second["message_id"]


async def test_a_stream_sends_tool_events_deltas_then_done(
    api: Api, client: httpx.AsyncClient
) -> None:
    h = await api.signup("ada")
    r = await client.post(
        STREAM.format("assistant"), json={"message": "what time is it?"}, headers=h
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_json(r.text)
    names = [name for name, _ in events]
    assert names[:2] == ["tool_call", "tool_result"] and names[-1] == "done"
    assert set(names[2:-1]) == {"delta"} and len(names[2:-1]) > 1

    call, result, done = events[0][1], events[1][1], events[-1][1]
    assert call == {"id": "call-1", "name": "current_time", "args": {"timezone": "UTC"}}
    assert result["id"] == "call-1" and result["name"] == "current_time"
    assert set(done) == {"conversation_id", "message_id", "usage"}
    assert done["usage"]["tool_calls"] == 1

    text = "".join(data["text"] for name, data in events if name == "delta")
    assert text == f"The time is {result['result']}."
    stored = await messages_of(client, h, done["conversation_id"])
    assert stored[-1]["id"] == done["message_id"] and stored[-1]["content"] == text
    assert stored[-1]["tool_calls"][0]["name"] == "current_time"


async def test_unknown_agent_and_foreign_conversation_are_404(
    api: Api, client: httpx.AsyncClient
) -> None:
    ada = await api.signup("ada")
    eve = await api.signup("eve")
    r = await client.post(RUN.format("assistant"), json={"message": "secret"}, headers=ada)
    adas = r.json()["conversation_id"]
    for path in (RUN, STREAM):
        r = await client.post(path.format("nobody"), json={"message": "hi"}, headers=ada)
        assert_error(r, 404, "NOT_FOUND")
        for cid in (adas, str(uuid4())):
            body = {"message": "hi", "conversation_id": cid}
            assert_error(
                await client.post(path.format("assistant"), json=body, headers=eve),
                404,
                "NOT_FOUND",
            )
    assert len(await messages_of(client, ada, adas)) == 2  # untouched


async def test_bad_messages_are_refused_before_any_turn(
    api: Api, client: httpx.AsyncClient, llm: FakeLLM
) -> None:
    h = await api.signup("ada")
    for path in (RUN, STREAM):
        url = path.format("assistant")
        for body in ({"message": ""}, {"message": "   "}, {}, {"message": "hi", "extra": 1}):
            assert_error(await client.post(url, json=body, headers=h), 422, "VALIDATION_FAILED")
        body = {"message": "hi", "conversation_id": "not-a-uuid"}
        assert_error(await client.post(url, json=body, headers=h), 422, "VALIDATION_FAILED")
        assert_error(await client.post(url, json={"message": "hi"}), 401, "AUTHENTICATION_FAILED")
    assert llm.seen == []


async def test_a_message_over_the_limit_is_413(tmp_path: Any, llm: FakeLLM) -> None:
    settings = make_settings(tmp_path, agents={"max_message_chars": 50})
    async with running(with_model(make_container(settings), llm.model)) as (_app, client):
        h = await Api(client).signup("ada")
        for path in (RUN, STREAM):
            r = await client.post(path.format("assistant"), json={"message": "x" * 51}, headers=h)
            error = assert_error(r, 413, "PAYLOAD_TOO_LARGE")
            assert error["details"]["limit"] == 50
            r = await client.post(path.format("assistant"), json={"message": "x" * 50}, headers=h)
            assert r.status_code == 200
    assert len(llm.seen) == 2


async def test_model_down_is_503_and_the_message_is_kept_failed(
    api: Api, client: httpx.AsyncClient, llm: FakeLLM
) -> None:
    h = await api.signup("ada")
    llm.down = True
    r = await client.post(RUN.format("assistant"), json={"message": "hello"}, headers=h)
    error = assert_error(r, 503, "MODEL_UNAVAILABLE")
    assert error["retryable"] is True

    cid = await only_conversation(client, h)
    (kept,) = await messages_of(client, h, cid)  # no assistant message, ever
    assert kept["role"] == "user" and kept["content"] == "hello"
    assert kept["status"] == "failed" and kept["error"]["code"] == "MODEL_UNAVAILABLE"

    llm.down = False
    body = {"message": "hello again", "conversation_id": cid}
    r = await client.post(RUN.format("assistant"), json=body, headers=h)
    assert r.json()["output"] == "echo: hello again (turn 1)"  # the failed turn is not history


async def test_model_down_while_streaming_is_an_error_event(
    api: Api, client: httpx.AsyncClient, llm: FakeLLM
) -> None:
    h = await api.signup("ada")
    llm.down = True
    r = await client.post(STREAM.format("assistant"), json={"message": "hello"}, headers=h)
    assert r.status_code == 200
    ((name, data),) = sse_json(r.text)
    assert name == "error"
    assert data["error"]["code"] == "MODEL_UNAVAILABLE" and data["error"]["retryable"] is True
    assert set(data["error"]) == {"code", "message", "details", "retryable"}

    (kept,) = await messages_of(client, h, await only_conversation(client, h))
    assert kept["status"] == "failed" and kept["error"]["code"] == "MODEL_UNAVAILABLE"


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_a_client_that_goes_away_cancels_the_turn(
    store: str, tmp_path: Any, llm: FakeLLM
) -> None:
    """On SQLite the store's writes suspend, so this also proves the failure is recorded
    although sse-starlette cancels the response (see `entrypoints.streaming.relay`)."""
    settings = make_settings(tmp_path)
    if store == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/mai.db"
        await migrate.upgrade(url, "head", embedding_dim=settings.memory.embedding_dim)
        settings = make_settings(tmp_path, database={"url": url})
    container = with_model(make_container(settings), llm.model)
    llm.stall = asyncio.Event()  # the model says one word, then thinks forever
    async with running(container) as (app, client):
        h = await Api(client).signup("ada")
        token = h["Authorization"].encode()
        body = json.dumps({"message": "tell me a story"}).encode()
        first_delta = asyncio.Event()
        sent: list[bytes] = []
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": body, "more_body": False}
            await first_delta.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))
                if b"event: delta" in message.get("body", b""):
                    first_delta.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": STREAM.format("assistant"),
            "raw_path": STREAM.format("assistant").encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"test"),
                (b"content-type", b"application/json"),
                (b"authorization", token),
            ],
            "client": ("127.0.0.1", 1234),
            "server": ("test", 80),
        }
        with anyio.fail_after(10):
            await app(scope, receive, send)

        assert not any(b"event: done" in chunk for chunk in sent)
        (kept,) = await messages_of(client, h, await only_conversation(client, h))
        assert kept["role"] == "user" and kept["status"] == "failed"
        assert kept["error"]["code"] == "CANCELLED"


async def test_relay_lets_a_cancelled_turn_finish_its_clean_up() -> None:
    """Why `relay` exists: AnyIO cancels every await of a cancelled scope, so a stream
    consumed in it directly loses the awaits of its clean-up; relayed, it keeps them."""

    async def consume(use_relay: bool) -> list[str]:
        cleaned: list[str] = []
        got = asyncio.Event()

        async def turn() -> Any:
            try:
                yield DeltaEvent(UUID(int=1), "a")
                await asyncio.sleep(3600)  # the model thinking
            finally:
                await asyncio.sleep(0.01)  # a store write suspends
                await asyncio.sleep(0.01)
                cleaned.append("marked failed")

        async def reader() -> None:
            source = relay(turn()) if use_relay else turn()
            async with aclosing(source) as stream:
                async for _event in stream:
                    got.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await got.wait()
            tg.cancel_scope.cancel()
        return cleaned

    assert await consume(use_relay=False) == []
    assert await consume(use_relay=True) == ["marked failed"]


async def test_turns_are_counted_in_metrics(api: Api, client: httpx.AsyncClient) -> None:
    h = await api.signup("ada")
    await client.post(RUN.format("assistant"), json={"message": "hello"}, headers=h)
    text = (await client.get("/metrics")).text
    assert 'mai_agent_turns_total{agent="assistant",outcome="ok"}' in text
    assert 'route="/api/v1/agents/{name}/run"' in text


async def test_openapi_documents_the_chat_endpoints(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in (
        "/api/v1/agents",
        "/api/v1/agents/{name}",
        "/api/v1/agents/{name}/run",
        "/api/v1/agents/{name}/stream",
        "/v1/models",
        "/v1/chat/completions",
    ):
        assert path in paths, path
    assert (
        "text/event-stream"
        in paths["/api/v1/agents/{name}/stream"]["post"]["responses"]["200"]["content"]
    )
