"""The LM Studio adapter against a scripted server (`httpx2.MockTransport`): no network.

Covers what a real server cannot be made to do on demand: fail with 503 then recover,
refuse a request with 400, list embedding models first, break the connection.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai import exceptions as pai
from pydantic_ai.settings import ModelSettings

from adapters.lmstudio import (
    NO_RETRY,
    LMStudioHealth,
    LMStudioModels,
    local_server_profile,
    looks_like_embedding_model,
    open_http_client,
    pick_chat_model,
    translate_model_error,
)
from adapters.lmstudio.client import fix_null_assistant_content
from adapters.settings import LMStudioSettings
from domain.errors import (
    ModelOutputInvalid,
    ModelUnavailable,
    NotFound,
    UsageLimitExceeded,
)
from entrypoints.rest.errors import http_status

BASE_URL = "http://llm.test/v1"
Handler = Callable[[httpx2.Request], httpx2.Response]


class Server:
    """A scripted OpenAI-compatible server: answers in order, records every request."""

    def __init__(self, *answers: httpx2.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx2.Response):
            return answer
        return answer(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


def models_answer(*ids: str | dict[str, Any]) -> httpx2.Response:
    data = [{"id": i, "object": "model"} if isinstance(i, str) else i for i in ids]
    return httpx2.Response(200, json={"object": "list", "data": data})


def completion(
    content: str | None = "hi", tool_calls: list[dict[str, Any]] | None = None
) -> httpx2.Response:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "chat-model",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
    )


def tool_call(name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


_clients: list[httpx2.AsyncClient] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    while _clients:
        await _clients.pop().aclose()


def make(
    server: Server, *, sleeps: Sleeps | None = None, **settings: Any
) -> tuple[LMStudioModels, httpx2.AsyncClient]:
    """Models over a scripted server; backoff sleeps are recorded, not slept."""
    config = LMStudioSettings(base_url=BASE_URL, **settings)
    client = open_http_client(
        config, transport=httpx2.MockTransport(server), sleep=sleeps or Sleeps()
    )
    _clients.append(client)
    return LMStudioModels(config, client), client


# --- model discovery ------------------------------------------------------------------


async def test_auto_detection_skips_embedding_models() -> None:
    server = Server(
        models_answer(
            "text-embedding-nomic-embed-text-v1.5",
            "multilingual-e5-small",
            {"id": "qwen-embedder", "type": "embeddings"},
            "qwen2.5-7b-instruct",
            "llama-3.2-1b",
        )
    )
    models, _ = make(server)
    assert await models.resolve_model_name() == "qwen2.5-7b-instruct"
    assert await models.resolve_model_name() == "qwen2.5-7b-instruct"
    assert len(server.requests) == 1, "the resolved name is cached"
    assert await models.list_models() == ["qwen2.5-7b-instruct", "llama-3.2-1b"]
    assert len(await models.list_models(include_embeddings=True)) == 5
    assert str(server.requests[0].url) == f"{BASE_URL}/models"
    assert server.requests[0].headers["authorization"] == "Bearer lm-studio"


async def test_explicit_model_wins_without_asking_the_server() -> None:
    server = Server(models_answer("other-model"))
    models, _ = make(server, model="my-model")
    assert await models.resolve_model_name() == "my-model"
    default = await models.model()
    assert default.model_name == "my-model" and await models.model() is default
    named = await models.model("named-by-the-agent")
    assert named.model_name == "named-by-the-agent"
    assert await models.model("named-by-the-agent") is named
    assert server.requests == []


async def test_configured_embedding_model_is_never_the_chat_model() -> None:
    models, _ = make(Server(models_answer("my-encoder", "chat")), embedding_model="my-encoder")
    assert await models.resolve_model_name() == "chat"


async def test_no_chat_model_listed_is_model_unavailable() -> None:
    models, _ = make(Server(models_answer("bge-small-en-v1.5")))
    with pytest.raises(ModelUnavailable, match="no chat model") as caught:
        await models.resolve_model_name()
    assert caught.value.details["variable"] == "LM_STUDIO__MODEL"


async def test_unreachable_server_names_the_variable_and_is_not_cached() -> None:
    refused = httpx2.ConnectError("connection refused")
    server = Server(refused, refused, refused, models_answer("late-model"))
    models, _ = make(server, max_retries=2)
    with pytest.raises(ModelUnavailable) as caught:
        await models.resolve_model_name()
    error = caught.value
    assert "LM_STUDIO__BASE_URL" in error.message and BASE_URL in error.message
    assert error.retryable and http_status(error) == 503
    assert error.details["base_url"] == BASE_URL
    assert len(server.requests) == 3, "1 attempt + max_retries=2"
    # the server comes up later: the next call finds it
    assert await models.resolve_model_name() == "late-model"


@pytest.mark.parametrize(
    ("model_id", "entry", "expected"),
    [
        ("text-embedding-3-small", {}, True),
        ("nomic-embed-text", {}, True),
        ("BAAI/bge-m3", {}, True),
        ("intfloat/multilingual-e5-large", {}, True),
        ("all-MiniLM-L6-v2", {}, True),
        ("jina-reranker-v2", {}, True),
        ("qwen3-4b", {"type": "llm"}, False),
        ("anything", {"type": "embeddings"}, True),
        ("SmolLM2-135M-Instruct.Q4_1", {}, False),
        ("gemma-3-12b-it", {}, False),
        ("deepseek-r1-distill-qwen-7b", {}, False),
    ],
)
def test_embedding_models_are_told_apart(
    model_id: str, entry: dict[str, Any], expected: bool
) -> None:
    assert looks_like_embedding_model(model_id, entry) is expected


def test_pick_chat_model_of_nothing_is_none() -> None:
    assert pick_chat_model([]) is None
    assert pick_chat_model([{"id": ""}, {"object": "model"}]) is None


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


# --- what goes on the wire --------------------------------------------------------------


def test_fix_null_assistant_content() -> None:
    payload: dict[str, Any] = {
        "messages": [
            {"role": "user", "content": None},
            {"role": "assistant", "content": None, "tool_calls": []},
            {"role": "assistant"},
            {"role": "assistant", "content": "kept"},
        ]
    }
    assert fix_null_assistant_content(payload) is True
    contents = [m.get("content") for m in payload["messages"]]
    assert contents == [None, "", "", "kept"]
    assert fix_null_assistant_content(payload) is False
    assert fix_null_assistant_content([1, 2]) is False


async def test_null_content_is_rewritten_on_the_wire() -> None:
    server = Server(completion("ok"))
    _, client = make(server)
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [tool_call("f")]},
        ],
    }
    await client.post(f"{BASE_URL}/chat/completions", json=body)
    sent = server.requests[0]
    assert json.loads(sent.content)["messages"][1]["content"] == ""
    assert int(sent.headers["content-length"]) == len(sent.content)
    # other endpoints are left alone
    await client.post(f"{BASE_URL}/embeddings", json=body)
    assert json.loads(server.requests[1].content)["messages"][1]["content"] is None


async def test_agent_tool_turn_sends_no_null_content_and_max_tokens() -> None:
    def answer(request: httpx2.Request) -> httpx2.Response:
        messages = json.loads(request.content)["messages"]
        if any(m["role"] == "tool" for m in messages):
            return completion("It is noon.")
        return completion(None, [tool_call("get_time")])

    server = Server(answer)
    models, _ = make(server, model="chat")
    agent = Agent(await models.model())

    @agent.tool_plain
    def get_time() -> str:
        """The current time."""
        return "12:00"

    result = await agent.run("What time is it?", model_settings=ModelSettings(max_tokens=16))
    assert result.output == "It is noon."
    first, second = server.bodies()
    assert first["max_tokens"] == 16 and "max_completion_tokens" not in first
    assistant = next(m for m in second["messages"] if m["role"] == "assistant")
    assert assistant["content"] == "" and assistant["tool_calls"]


async def test_structured_output_never_forces_tool_choice() -> None:
    class Answer(BaseModel):
        city: str

    server = Server(completion(None, [tool_call("final_result", '{"city": "Paris"}')]))
    models, _ = make(server, model="chat")
    result = await Agent(await models.model(), output_type=Answer).run("Capital of France?")
    assert result.output == Answer(city="Paris")
    assert server.bodies()[0].get("tool_choice") in (None, "auto")


def test_profile_defaults_and_overrides() -> None:
    profile = local_server_profile()
    assert profile["openai_chat_supports_max_completion_tokens"] is False
    assert profile["supports_forced_tool_choice"] is False
    assert profile["supports_json_schema_output"] is False
    forced = local_server_profile({"supports_forced_tool_choice": True})
    assert forced["supports_forced_tool_choice"] is True
    assert forced["openai_chat_supports_max_completion_tokens"] is False


async def test_profile_override_reaches_the_model() -> None:
    config = LMStudioSettings(base_url=BASE_URL, model="m")
    client = open_http_client(config, transport=httpx2.MockTransport(Server(completion())))
    _clients.append(client)
    models = LMStudioModels(config, client, profile={"supports_forced_tool_choice": True})
    model = await models.model()
    assert model.profile.get("supports_forced_tool_choice") is True
    assert model.profile.get("openai_chat_supports_max_completion_tokens") is False
    assert model.system == "lmstudio"


async def test_client_timeouts_follow_settings() -> None:
    client = open_http_client(LMStudioSettings(timeout_seconds=42))
    quick = open_http_client(LMStudioSettings(timeout_seconds=1.5))
    _clients.extend([client, quick])
    assert client.timeout.read == 42 and client.timeout.connect == 5
    assert quick.timeout.connect == 1.5


# --- health -------------------------------------------------------------------------------


async def test_health_up_names_the_model() -> None:
    models, _ = make(Server(models_answer("nomic-embed-text", "chat-model")))
    health = await LMStudioHealth(models).check()
    assert (health.name, health.ok, health.backend, health.detail) == (
        "llm",
        True,
        "lmstudio",
        "chat-model",
    )
    assert health.required is False and health.latency_ms is not None


async def test_health_down_reports_error_type_without_retrying() -> None:
    server = Server(httpx2.ConnectError("refused"))
    models, _ = make(server, max_retries=5)
    health = await LMStudioHealth(models).check()
    assert (health.ok, health.detail, health.required) == (False, "ConnectError", False)
    assert len(server.requests) == 1


async def test_health_down_on_http_error_and_on_no_chat_model() -> None:
    models, _ = make(Server(httpx2.Response(401)))
    assert (await LMStudioHealth(models).check()).detail == "HTTP 401"
    models, _ = make(Server(models_answer("bge-m3")))
    health = await LMStudioHealth(models).check()
    assert (health.ok, health.detail) == (False, "no chat model loaded")


# --- error translation ----------------------------------------------------------------------


def _status_error(status: int) -> pai.ModelHTTPError:
    if status == 404:
        return pai.ModelHTTPError.for_category(
            pai.ModelNotFoundError, status_code=404, model_name="m"
        )
    return pai.ModelHTTPError(status, "m")


@pytest.mark.parametrize(
    "exc",
    [
        pai.ModelConnectionError("m", "Connection error.", phase="connect"),
        pai.ModelTimeoutError("m", "Request timed out."),
        pai.ModelRequestTimeout("m", 30),
        httpx2.ConnectError("refused"),
        httpx2.ReadTimeout("slow"),
        pai.ModelUnavailableError("m", "unavailable"),
    ],
)
def test_unreachable_errors_become_model_unavailable(exc: BaseException) -> None:
    error = translate_model_error(exc, base_url=BASE_URL)
    assert isinstance(error, ModelUnavailable)
    assert error.retryable and error.code == "MODEL_UNAVAILABLE"
    assert BASE_URL in error.message and "LM_STUDIO__BASE_URL" in error.message


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_transient_http_errors_become_model_unavailable(status: int) -> None:
    error = translate_model_error(_status_error(status))
    assert isinstance(error, ModelUnavailable) and error.retryable


def test_other_errors_are_translated_or_left_alone() -> None:
    not_found = translate_model_error(_status_error(404))
    assert isinstance(not_found, ModelUnavailable) and not not_found.retryable
    assert "LM_STUDIO__MODEL" in not_found.message
    assert translate_model_error(_status_error(400)) is None
    assert translate_model_error(ValueError("x")) is None
    already = NotFound("gone")
    assert translate_model_error(already) is already
    assert isinstance(
        translate_model_error(pai.UnexpectedModelBehavior("bad json")), ModelOutputInvalid
    )
    assert isinstance(translate_model_error(pai.UsageLimitExceeded("too many")), UsageLimitExceeded)
