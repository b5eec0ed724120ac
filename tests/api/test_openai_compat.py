"""The OpenAI-compatible `/v1`, driven by the official `openai` SDK over the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2
import openai
import pytest
from openai import AsyncOpenAI

from container import Container
from tests.api.conftest import FakeLLM, parse_sse, running
from tests.conftest import Api


class Sdk:
    def __init__(self, app: Any, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token
        self.transport = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))
        self.client = self.as_(token)

    def as_(self, api_key: str) -> AsyncOpenAI:
        return AsyncOpenAI(
            base_url="http://test/v1",
            api_key=api_key,
            http_client=self.transport,
            max_retries=0,
        )


@pytest.fixture
async def sdk(container: Container) -> AsyncIterator[Sdk]:
    async with running(container) as (app, http):
        headers = await Api(http).signup("ada")
        token = headers["Authorization"].removeprefix("Bearer ")
        sdk = Sdk(app, http, token)
        async with sdk.transport:
            yield sdk


async def test_models_are_the_agents(sdk: Sdk) -> None:
    page = await sdk.client.models.list()
    assert "assistant" in [m.id for m in page.data]
    model = next(m for m in page.data if m.id == "assistant")
    assert model.object == "model" and model.owned_by == "mai" and model.created > 0

    assert (await sdk.client.models.retrieve("assistant")).id == "assistant"
    with pytest.raises(openai.NotFoundError):
        await sdk.client.models.retrieve("nobody")


async def test_a_completion_and_its_continuation(sdk: Sdk, llm: FakeLLM) -> None:
    first = await sdk.client.chat.completions.create(
        model="assistant",
        messages=[
            {"role": "system", "content": "ignored: the agent has its own instructions"},
            {"role": "user", "content": "hello"},
        ],
    )
    assert first.object == "chat.completion" and first.model == "assistant"
    assert first.choices[0].message.role == "assistant"
    assert first.choices[0].message.content == "echo: hello (turn 1)"
    assert first.choices[0].finish_reason == "stop"
    assert first.usage is not None
    usage = first.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0

    cid = (first.model_extra or {})["conversation_id"]
    second = await sdk.client.chat.completions.create(
        model="assistant",
        messages=[
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": "echo: hello (turn 1)"},
            {"role": "user", "content": [{"type": "text", "text": "and now?"}]},
        ],
        extra_body={"conversation_id": cid},
    )
    assert second.choices[0].message.content == "echo: and now? (turn 2)"
    assert (second.model_extra or {})["conversation_id"] == cid

    # Without the extension every call is a new conversation.
    third = await sdk.client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "and now?"}]
    )
    assert third.choices[0].message.content == "echo: and now? (turn 1)"


async def test_a_streamed_completion(sdk: Sdk) -> None:
    stream = await sdk.client.chat.completions.create(
        model="assistant",
        messages=[{"role": "user", "content": "tell me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [c async for c in stream]
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: tell me (turn 1)"
    finishing = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishing[-1] == "stop" and set(finishing[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


async def test_the_raw_stream_ends_with_done(sdk: Sdk) -> None:
    r = await sdk.http.post(
        "/v1/chat/completions",
        json={
            "model": "assistant",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        },
        headers={"Authorization": f"Bearer {sdk.token}"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    assert {name for name, _ in events} == {"message"}  # plain `data:` lines, no event names
    assert events[-1][1] == "[DONE]"


async def test_errors_reach_the_sdk(sdk: Sdk, llm: FakeLLM) -> None:
    hi = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.NotFoundError) as not_found:
        await sdk.client.chat.completions.create(model="nobody", messages=hi)
    assert "nobody" in not_found.value.message
    assert isinstance(not_found.value.body, dict) and not_found.value.body["code"] == "NOT_FOUND"

    with pytest.raises(openai.AuthenticationError):
        await sdk.as_("not-a-token").chat.completions.create(model="assistant", messages=hi)
    with pytest.raises(openai.UnprocessableEntityError):
        await sdk.client.chat.completions.create(
            model="assistant", messages=[{"role": "system", "content": "no user message"}]
        )

    llm.down = True
    with pytest.raises(openai.InternalServerError) as down:
        await sdk.client.chat.completions.create(model="assistant", messages=hi)
    assert down.value.status_code == 503
    assert isinstance(down.value.body, dict) and down.value.body["code"] == "MODEL_UNAVAILABLE"

    stream = await sdk.client.chat.completions.create(model="assistant", messages=hi, stream=True)
    with pytest.raises(openai.APIError) as in_stream:
        async for _chunk in stream:
            pass
    assert in_stream.value.message == "The language model is unavailable right now."
    assert isinstance(in_stream.value.body, dict)
    assert in_stream.value.body["code"] == "MODEL_UNAVAILABLE"
