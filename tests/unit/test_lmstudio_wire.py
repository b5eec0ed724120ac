"""What the LM Studio adapter sends (no null content, the local-server profile, timeouts)
and how it translates a failed model call into the framework's errors."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai import exceptions as pai
from pydantic_ai.settings import ModelSettings

from adapters.lmstudio import (
    LMStudioModels,
    local_server_profile,
    open_http_client,
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
from tests.unit.scripted_llm import (
    BASE_URL,
    Server,
    close_after_the_test,
    completion,
    make,
    tool_call,
)

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


async def test_a_body_with_nothing_to_fix_goes_out_byte_for_byte() -> None:
    server = Server(completion("ok"))
    _, client = make(server)
    plain = b'{"model":"m","messages":[{"role":"user","content":"hi"}]}'  # no null at all
    quoted = b'{"model":"m","messages":[{"role":"user","content":"null"}]}'  # in a string
    for raw in (plain, quoted):
        await client.post(f"{BASE_URL}/chat/completions", content=raw)
    assert [r.content for r in server.requests] == [plain, quoted]


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
    close_after_the_test(client)
    models = LMStudioModels(config, client, profile={"supports_forced_tool_choice": True})
    model = await models.model()
    assert model.profile.get("supports_forced_tool_choice") is True
    assert model.profile.get("openai_chat_supports_max_completion_tokens") is False
    assert model.system == "lmstudio"


async def test_client_timeouts_follow_settings() -> None:
    client = open_http_client(LMStudioSettings(timeout_seconds=42))
    quick = open_http_client(LMStudioSettings(timeout_seconds=1.5))
    close_after_the_test(client, quick)
    assert client.timeout.read == 42 and client.timeout.connect == 5
    assert quick.timeout.connect == 1.5


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
