"""LM Studio, or any OpenAI-compatible server, as the LLM behind Pydantic AI's `Model`.

`open_http_client(settings)` -> the shared `httpx2.AsyncClient` (retries, timeouts, the
null-content fix); `LMStudioModels(settings, client)` finds the model and builds the
`OpenAIChatModel`; `LMStudioHealth(models)` reports on the server; `translate_model_error`
turns a failed call into `ModelUnavailable` and friends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from adapters.lmstudio.client import NO_RETRY, NullContentTransport, open_http_client
    from adapters.lmstudio.errors import translate_model_error
    from adapters.lmstudio.health import LMStudioHealth
    from adapters.lmstudio.models import (
        LOCAL_SERVER_PROFILE,
        LMStudioModels,
        local_server_profile,
        looks_like_embedding_model,
        pick_chat_model,
    )

__all__ = [
    "LOCAL_SERVER_PROFILE",
    "NO_RETRY",
    "LMStudioHealth",
    "LMStudioModels",
    "NullContentTransport",
    "local_server_profile",
    "looks_like_embedding_model",
    "open_http_client",
    "pick_chat_model",
    "translate_model_error",
]

# Imported on first use (PEP 562): `adapters.lmstudio.providers` (the agent files' model
# names) must not pull in the OpenAI SDK and its types, about 0.6 s of a cold start (#15).
__getattr__ = lazy_exports(
    __name__,
    {
        "NO_RETRY": "adapters.lmstudio.client",
        "NullContentTransport": "adapters.lmstudio.client",
        "open_http_client": "adapters.lmstudio.client",
        "translate_model_error": "adapters.lmstudio.errors",
        "LMStudioHealth": "adapters.lmstudio.health",
        "LOCAL_SERVER_PROFILE": "adapters.lmstudio.models",
        "LMStudioModels": "adapters.lmstudio.models",
        "local_server_profile": "adapters.lmstudio.models",
        "looks_like_embedding_model": "adapters.lmstudio.models",
        "pick_chat_model": "adapters.lmstudio.models",
    },
)
