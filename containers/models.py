"""The LLM server: one HTTP client (shared with the embedder when it runs there), the chat
model every agent runs on unless it names its own, and the server's health.

Tests override `model_source` with a `StaticModelSource(FunctionModel(...))`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
from dependency_injector import containers, providers

from adapters.lmstudio import LMStudioHealth, LMStudioModels, open_http_client
from adapters.settings import Settings
from application.agents.ports import ModelSource


async def _open_llm_http(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    client = open_http_client(settings.lm_studio)
    try:
        yield client
    finally:
        await client.aclose()


class ModelsContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    llm_http = providers.Resource(_open_llm_http, settings)
    model_source: providers.Provider[ModelSource] = providers.Singleton(
        LMStudioModels, settings.provided.lm_studio, llm_http
    )
    llm_health = providers.Singleton(LMStudioHealth, model_source)
