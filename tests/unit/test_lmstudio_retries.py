"""The LM Studio adapter's retries, against a scripted server: what a real server cannot be
made to do on demand (fail with 503 then recover, refuse with 400, break the connection)."""

from __future__ import annotations

import httpx2
import pytest
from pydantic_ai import Agent
from pydantic_ai import exceptions as pai

from adapters.lmstudio import (
    NO_RETRY,
    translate_model_error,
)
from domain.errors import (
    ModelUnavailable,
)
from tests.unit.scripted_llm import (
    BASE_URL,
    Server,
    Sleeps,
    completion,
    make,
    models_answer,
)

# --- retries ----------------------------------------------------------------------------


async def test_retries_503_then_succeeds_with_backoff() -> None:
    server = Server(httpx2.Response(503, text="loading"), models_answer("m1"))
    sleeps = Sleeps()
    models, _ = make(server, sleeps=sleeps, max_retries=2)
    assert await models.list_models() == ["m1"]
    assert len(server.requests) == 2
    assert len(sleeps.waits) == 1 and sleeps.waits[0] > 0


async def test_retry_after_header_is_honoured() -> None:
    server = Server(httpx2.Response(429, headers={"retry-after": "3"}), models_answer("m1"))
    sleeps = Sleeps()
    models, _ = make(server, sleeps=sleeps)
    assert await models.list_models() == ["m1"]
    assert sleeps.waits == [3.0]


async def test_no_retry_on_400() -> None:
    server = Server(httpx2.Response(400, json={"error": "bad"}), models_answer("m1"))
    sleeps = Sleeps()
    models, _ = make(server, sleeps=sleeps, max_retries=3)
    with pytest.raises(ModelUnavailable) as caught:
        await models.list_models()
    assert caught.value.details["status"] == 400
    assert len(server.requests) == 1 and sleeps.waits == []


async def test_max_retries_zero_means_one_attempt() -> None:
    server = Server(httpx2.Response(503))
    models, _ = make(server, max_retries=0)
    with pytest.raises(ModelUnavailable):
        await models.list_models()
    assert len(server.requests) == 1


async def test_no_retry_extension_turns_retries_off() -> None:
    server = Server(httpx2.Response(503), models_answer("m1"))
    models, _ = make(server, max_retries=3)
    with pytest.raises(ModelUnavailable):
        await models.list_model_entries(retry=False)
    assert len(server.requests) == 1
    assert server.requests[0].extensions.get(NO_RETRY) is True


async def test_chat_completion_retries_503_then_succeeds() -> None:
    server = Server(models_answer("chat"), httpx2.Response(503), completion("hello"))
    models, _ = make(server, max_retries=2)
    result = await Agent(await models.model()).run("hi")
    assert result.output == "hello"
    posts = [r for r in server.requests if r.method == "POST"]
    assert len(posts) == 2, "one retry, and the SDK's own retries are off"


async def test_chat_completion_no_retry_on_400() -> None:
    server = Server(httpx2.Response(400, json={"error": {"message": "bad request"}}))
    models, _ = make(server, model="chat", max_retries=3)
    with pytest.raises(pai.ModelHTTPError) as caught:
        await Agent(await models.model()).run("hi")
    assert caught.value.status_code == 400
    assert len(server.requests) == 1
    assert translate_model_error(caught.value) is None


async def test_chat_completion_persistent_503_surfaces_as_http_503() -> None:
    server = Server(httpx2.Response(503, json={"error": {"message": "model loading"}}))
    models, _ = make(server, model="chat", max_retries=2)
    with pytest.raises(pai.ModelHTTPError) as caught:
        await Agent(await models.model()).run("hi")
    assert caught.value.status_code == 503, "the last response is handed on intact"
    assert len(server.requests) == 3
    error = models.translate_error(caught.value)
    assert isinstance(error, ModelUnavailable) and error.retryable
    assert BASE_URL in error.message


async def test_connection_errors_are_retried_for_chat() -> None:
    server = Server(httpx2.ConnectError("refused"), completion("back"))
    models, _ = make(server, model="chat", max_retries=1)
    assert (await Agent(await models.model()).run("hi")).output == "back"
    assert len(server.requests) == 2
