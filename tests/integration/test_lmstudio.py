"""The LM Studio adapter against a REAL OpenAI-compatible server (llama.cpp + SmolLM2-135M).

A 135M model's answers are not worth asserting on; the protocol is: requests the server
accepts, streams that arrive, tool calls that round-trip, limits that hold, and failures
that come out as the framework's errors.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest
from pydantic import BaseModel
from pydantic_ai import Agent, ModelResponse, ToolCallPart, ToolReturnPart
from pydantic_ai.exceptions import UnexpectedModelBehavior, UsageLimitExceeded
from pydantic_ai.messages import ModelMessage, ModelRequest, UserPromptPart
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import UsageLimits

from adapters.lmstudio import (
    LMStudioHealth,
    LMStudioModels,
    open_http_client,
    translate_model_error,
)
from adapters.settings import LMStudioSettings
from domain.errors import ModelUnavailable
from tests.integration.conftest import MODEL_ALIAS, free_port

pytestmark = pytest.mark.integration

SHORT = ModelSettings(max_tokens=24, temperature=0.0)


async def test_model_is_auto_detected(llm_models: LMStudioModels) -> None:
    assert MODEL_ALIAS in await llm_models.list_models()
    assert await llm_models.resolve_model_name() == MODEL_ALIAS
    model = await llm_models.model()
    assert model.model_name == MODEL_ALIAS
    assert await llm_models.model() is model, "cached"


async def test_plain_turn(llm_models: LMStudioModels) -> None:
    result = await Agent(await llm_models.model()).run("Say hi", model_settings=SHORT)
    assert isinstance(result.output, str)
    usage = result.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0 and usage.requests == 1


async def test_streamed_turn(llm_models: LMStudioModels) -> None:
    agent = Agent(await llm_models.model())
    chunks: list[str] = []
    async with agent.run_stream("Say hello to the world.", model_settings=SHORT) as stream:
        async for delta in stream.stream_text(delta=True):
            chunks.append(delta)
    assert len(chunks) >= 1
    # llama.cpp's server sends no usage in a stream (pydantic-ai asks with
    # `stream_options.include_usage`): the request is counted, its tokens are not.
    assert stream.usage.requests == 1


async def test_max_tokens_is_honoured(llm_models: LMStudioModels) -> None:
    agent = Agent(await llm_models.model())
    result = await agent.run(
        "Write a long story about a dragon.", model_settings=ModelSettings(max_tokens=5)
    )
    assert 0 < result.usage.output_tokens <= 8


@pytest.mark.slow
async def test_tool_call_protocol(llm_models: LMStudioModels) -> None:
    """The model may or may not call the tool; either way the protocol must hold.

    A 135M model that starts calling a tool tends to go on calling it, so the run is bounded:
    ending on the request limit after the calls ran is as good as ending with text.
    """
    agent = Agent(
        await llm_models.model(),
        instructions="You answer questions about time by calling the get_time tool.",
    )
    calls: list[str] = []

    @agent.tool_plain
    def get_time() -> str:
        """Return the current time in UTC."""
        calls.append("get_time")
        return "12:00 UTC"

    try:
        result = await agent.run(
            "What time is it now? Call get_time.",
            model_settings=ModelSettings(max_tokens=64, temperature=0.0),
            usage_limits=UsageLimits(request_limit=3),
        )
    except UsageLimitExceeded:
        assert calls, "only a model that keeps calling the tool reaches the request limit"
        return
    tool_calls = [
        part
        for message in result.all_messages()
        for part in message.parts
        if isinstance(part, ToolCallPart)
    ]
    assert {c.tool_name for c in tool_calls} <= {"get_time"}
    assert len(calls) == len(tool_calls), "every call the model made was executed"
    assert isinstance(result.output, str)


async def test_history_with_a_tool_call_is_accepted(llm_models: LMStudioModels) -> None:
    """A turn that only called a tool goes out as `content: ""`, which the server takes."""
    now = datetime.now(UTC)
    history: list[ModelMessage] = [
        ModelRequest(parts=[UserPromptPart("What time is it?", timestamp=now)]),
        ModelResponse(parts=[ToolCallPart("get_time", {}, tool_call_id="call_1")]),
        ModelRequest(parts=[ToolReturnPart("get_time", "12:00 UTC", tool_call_id="call_1")]),
    ]
    # No tools on this turn: the model answers in text, in one request.
    agent = Agent(await llm_models.model())
    result = await agent.run("And in words?", message_history=history, model_settings=SHORT)
    assert isinstance(result.output, str)


async def test_server_accepts_tools_with_auto_choice(llm_server: str) -> None:
    """At the HTTP level: the request shape pydantic-ai sends for a tool turn answers 200."""
    body = {
        "model": MODEL_ALIAS,
        "messages": [{"role": "user", "content": "What time is it? Use the tool."}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_time",
                    "description": "Return the current time.",
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ],
        "tool_choice": "auto",
        "max_tokens": 32,
    }
    async with httpx2.AsyncClient(timeout=60) as http:
        response = await http.post(f"{llm_server}/chat/completions", json=body)
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] in {"stop", "length", "tool_calls"}


async def test_structured_output_runs_without_forced_tool_choice(
    llm_models: LMStudioModels,
) -> None:
    """No `tool_choice: "required"` (a 500 here): the run ends with output or a clean error."""

    class City(BaseModel):
        name: str

    agent = Agent(await llm_models.model(), output_type=City)
    try:
        result = await agent.run(
            "Which city is the capital of France?",
            model_settings=ModelSettings(max_tokens=48, temperature=0.0),
            usage_limits=UsageLimits(request_limit=3),
        )
    except (UnexpectedModelBehavior, UsageLimitExceeded) as exc:
        # a 135M model may not produce the JSON: that is its right, not a protocol error
        error = translate_model_error(exc)
        assert error is not None and error.code != "MODEL_UNAVAILABLE", repr(exc)
    else:
        assert isinstance(result.output, City)


async def test_health_up(llm_models: LMStudioModels) -> None:
    health = await LMStudioHealth(llm_models).check()
    assert health.ok and health.detail == MODEL_ALIAS
    assert (health.name, health.backend, health.required) == ("llm", "lmstudio", False)


async def test_unreachable_server() -> None:
    settings = LMStudioSettings(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1)
    client = open_http_client(settings)
    try:
        models = LMStudioModels(settings, client)
        with pytest.raises(ModelUnavailable, match="LM_STUDIO__BASE_URL"):
            await models.resolve_model_name()

        health = await LMStudioHealth(models).check()
        assert (health.ok, health.detail) == (False, "ConnectError")

        agent = Agent(models.chat_model("any-model"))
        with pytest.raises(Exception) as caught:
            await agent.run("hi")
        error = translate_model_error(caught.value, base_url=settings.base_url)
        assert isinstance(error, ModelUnavailable) and error.retryable
        assert settings.base_url in error.message
        assert models.translate_error(caught.value) is not None
    finally:
        await client.aclose()
