"""The LLM server: one HTTP client (shared with the embedder when it runs there), the chat
model every agent runs on unless it names its own, and the server's health.

Tests override `model_source` with a `StaticModelSource(FunctionModel(...))`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from adapters.settings import Settings
from containers.lazy import lazy

if TYPE_CHECKING:
    from application.agents.ports import ModelSource


class ModelsContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    llm_http = providers.Resource(
        lazy("adapters.lmstudio.resources", "open_llm_http"), settings.provided.lm_studio
    )
    # The OpenAI SDK and Pydantic AI's OpenAI model are imported when the model source is
    # first built, not with the container (issue #15).
    model_source: providers.Provider[ModelSource] = providers.Singleton(
        lazy("adapters.lmstudio.models", "LMStudioModels"), settings.provided.lm_studio, llm_http
    )
    llm_health = providers.Singleton(
        lazy("adapters.lmstudio.health", "LMStudioHealth"), model_source
    )
