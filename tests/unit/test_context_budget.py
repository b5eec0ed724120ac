"""Token budgets that match the model: the server's context window, a clamp, a clear 413."""

from __future__ import annotations

import httpx2
import pytest
from dependency_injector import providers
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.models import StaticModelSource
from domain.agents.budget import ContextBudget
from domain.agents.models import AgentDefinition, HistoryPolicy
from domain.errors import PayloadTooLarge
from domain.memory.tokens import ApproximateTokenCounter
from domain.model_params import ModelParams
from entrypoints.rest.errors import http_status
from runtime import AppRuntime
from tests.conftest import make_container, make_settings
from tests.unit.scripted_llm import Server, completion, make, models_answer

COUNTER = ApproximateTokenCounter()


def test_a_message_that_cannot_fit_is_a_413_naming_the_limits() -> None:
    budget = ContextBudget(1000, reply_tokens=200, margin=0.1)  # usable 700
    budget.check_message(600, fixed_tokens=100)
    with pytest.raises(PayloadTooLarge) as info:
        budget.check_message(601, fixed_tokens=100)
    assert http_status(info.value) == 413 and info.value.code == "PAYLOAD_TOO_LARGE"
    assert info.value.details == {
        "field": "message",
        "tokens": 601,
        "limit_tokens": 600,
        "context_tokens": 1000,
    }


def test_the_history_budget_is_clamped_and_stable_for_ordinary_messages() -> None:
    budget = ContextBudget(4096, reply_tokens=256)
    small = budget.history_tokens(4000, fixed_tokens=100, message_tokens=20)
    assert small == budget.history_tokens(4000, fixed_tokens=100, message_tokens=200)
    assert small < 4000 and small + 100 + 256 <= budget.usable
    assert budget.history_tokens(500, fixed_tokens=100, message_tokens=20) == 500


def lmstudio_models(*answers: httpx2.Response, **settings: object) -> object:
    models, _ = make(Server(*answers), model="qwen", **settings)
    return models


async def test_lm_studio_reports_the_loaded_context_length() -> None:
    body = {
        "data": [
            {"id": "other", "max_context_length": 1},
            {"id": "qwen", "max_context_length": 32768, "loaded_context_length": 8192},
        ]
    }
    models = lmstudio_models(httpx2.Response(200, json=body))
    assert await models.context_window() == 8192  # type: ignore[attr-defined]


async def test_a_model_lm_studio_has_not_loaded_yet_is_asked_again_after_loading() -> None:
    """JIT loading: before the first completion LM Studio lists only the trained maximum;
    that is used for now but not kept, and the loaded context replaces it once known."""
    unloaded = {"data": [{"id": "qwen", "state": "not-loaded", "max_context_length": 32768}]}
    loaded = {"data": [{**unloaded["data"][0], "state": "loaded", "loaded_context_length": 4096}]}
    server = Server(
        httpx2.Response(200, json=unloaded),
        completion("hi"),  # the request that makes LM Studio load the model
        httpx2.Response(200, json=loaded),
    )
    models, _ = make(server, model="qwen")
    assert await models.context_window() == 32768
    await Agent(await models.model()).run("hi")
    assert await models.context_window() == 4096
    probes = len(server.requests)
    assert await models.context_window() == 4096  # final now: cached, no further probe
    assert len(server.requests) == probes
    assert [r.url.path for r in server.requests] == [
        "/api/v0/models",
        "/v1/chat/completions",
        "/api/v0/models",
    ]


async def test_llama_server_reports_n_ctx_in_props() -> None:
    props = {"default_generation_settings": {"n_ctx": 4096}}
    models = lmstudio_models(httpx2.Response(404), httpx2.Response(200, json=props))
    assert await models.context_window() == 4096  # type: ignore[attr-defined]


async def test_a_server_that_does_not_say_gives_none_and_the_setting_wins() -> None:
    silent = lmstudio_models(httpx2.Response(404))
    assert await silent.context_window() is None  # type: ignore[attr-defined]
    configured = lmstudio_models(models_answer("qwen"), context_tokens=2048)
    assert await configured.context_window() == 2048  # type: ignore[attr-defined]


async def chat(context_tokens: int | None) -> tuple[object, object, list[list[ModelMessage]]]:
    seen: list[list[ModelMessage]] = []

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        seen.append(messages)
        return ModelResponse(parts=[TextPart("a reply of a few words " * 5)])

    source = StaticModelSource(FunctionModel(model_fn))
    source.context_tokens = context_tokens
    c = make_container(make_settings())
    c.model_source.override(providers.Object(source))
    await AppRuntime(c).open()
    c.agent_catalog().register(
        AgentDefinition(
            name="small",
            model_settings=ModelParams(max_tokens=100),
            history=HistoryPolicy(max_messages=200, max_tokens=100_000),
        )
    )
    user = await c.register_user().execute("ada", "ada@example.com", "password123")
    return c, user.id, seen


async def test_a_turn_never_sends_more_than_the_context_holds() -> None:
    c, uid, seen = await chat(context_tokens=800)
    send = c.send_message()  # type: ignore[attr-defined]
    first = await send.execute(uid, "small", "hello " * 20)
    for _ in range(30):
        await send.execute(uid, "small", "tell me more " * 10, first.conversation_id)
        await c.background_tasks().drain()  # type: ignore[attr-defined]
    for request in seen:
        text = " ".join(str(getattr(p, "content", "")) for m in request for p in m.parts)
        assert COUNTER.count(text) <= 800 - 100


async def test_a_message_larger_than_the_context_is_refused_before_anything_is_stored() -> None:
    c, uid, seen = await chat(context_tokens=800)
    with pytest.raises(PayloadTooLarge):
        await c.send_message().execute(uid, "small", "word " * 2000)  # type: ignore[attr-defined]
    assert seen == []
    listed = await c.list_conversations().execute(uid)  # type: ignore[attr-defined]
    assert not listed.items
