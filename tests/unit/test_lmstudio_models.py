"""The LM Studio adapter finding its model and reporting health, against a scripted server:
embedding models skipped, an explicit model trusted, an unreachable server named."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from adapters.lmstudio import (
    LMStudioHealth,
    looks_like_embedding_model,
    pick_chat_model,
)
from domain.errors import (
    ModelUnavailable,
)
from entrypoints.rest.errors import http_status
from tests.unit.scripted_llm import (
    BASE_URL,
    Server,
    make,
    models_answer,
)

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
