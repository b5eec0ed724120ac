"""Chat models served by LM Studio or any OpenAI-compatible server (llama.cpp, vLLM, …).

Pydantic AI's `Model` is the LLM port; this module only builds one: it finds out which
model to use (`LM_STUDIO__MODEL`, or the first chat model the server lists) and wires an
`OpenAIChatModel` to the shared HTTP client with a profile local servers can honour.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import httpx2

from adapters.lmstudio.client import NO_RETRY
from adapters.lmstudio.context_window import discover_context_window
from adapters.lmstudio.errors import BASE_URL_VARIABLE, translate_model_error
from adapters.lmstudio.providers import is_provider_model, local_name, provider_model
from adapters.lmstudio.tokenize import ServerTokenizer
from adapters.settings import LMStudioSettings
from domain.errors import MAIError, ModelUnavailable

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from pydantic_ai.models import Model
    from pydantic_ai.profiles.openai import OpenAIModelProfile

    LOCAL_SERVER_PROFILE: OpenAIModelProfile

#: The provider name recorded on every response (message history, telemetry).
PROVIDER_NAME = "lmstudio"


@functools.cache
def _local_server_profile() -> OpenAIModelProfile:
    """What local OpenAI-compatible servers accept, measured against llama.cpp's server:
    - `max_tokens`, not `max_completion_tokens` (which they ignore: output is unbounded);
    - no forced tool choice (`tool_choice: "required"` answers 500), so pydantic-ai sends
      `auto` with the tools narrowed, and structured output (tool mode, the default) still
      works, as does `PromptedOutput`;
    - no `response_format: json_schema` (500; only `json_object`), so `NativeOutput` is
      refused up front by pydantic-ai instead. LM Studio does take it: override the flag.

    Built on first use (as `LOCAL_SERVER_PROFILE`): Pydantic AI is imported by the first
    model built, not by a health check (issue #15)."""
    from pydantic_ai.profiles.openai import OpenAIModelProfile

    return OpenAIModelProfile(
        openai_chat_supports_max_completion_tokens=False,
        supports_forced_tool_choice=False,
        supports_json_schema_output=False,
    )


def __getattr__(name: str) -> Any:  # PEP 562: `LOCAL_SERVER_PROFILE`, built on first use
    if name == "LOCAL_SERVER_PROFILE":
        return _local_server_profile()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Embedding models are listed next to chat models by LM Studio and others; names give them away.
_EMBEDDING_NAME = re.compile(
    r"embed|rerank|(^|[-_/.])(bge|gte|e5|minilm|mpnet|nomic-bert)([-_/.]|$)", re.IGNORECASE
)


def local_server_profile(overrides: Mapping[str, Any] | None = None) -> OpenAIModelProfile:
    """`LOCAL_SERVER_PROFILE` with `overrides` (any `OpenAIModelProfile` keys) on top.

    E.g. `{"supports_forced_tool_choice": True}` for a server that does force tool calls.
    """
    from pydantic_ai.profiles import merge_profile

    merged = merge_profile(
        _local_server_profile(), cast("OpenAIModelProfile", dict(overrides or {}))
    )
    return cast("OpenAIModelProfile", merged)


def structured_output_profile(settings: LMStudioSettings) -> dict[str, Any]:
    """Profile keys from the server's settings. `LM_STUDIO__STRUCTURED_OUTPUT`: with a
    JSON-schema form, typed output is native (`response_format`, constrained decoding)
    instead of a tool call; `…__MAX_COMPLETION_TOKENS`, `…__FORCED_TOOL_CHOICE`: quirks."""
    quirks: dict[str, Any] = {
        "openai_chat_supports_max_completion_tokens": settings.max_completion_tokens,
        "supports_forced_tool_choice": settings.forced_tool_choice,
    }
    if settings.structured_output == "tool":
        return quirks
    return {
        **quirks,
        "supports_json_schema_output": True,
        "default_structured_output_mode": "native",
    }


def looks_like_embedding_model(model_id: str, entry: Mapping[str, Any] | None = None) -> bool:
    """True for models that cannot chat: by the `type` some servers give, else by name."""
    kind = str((entry or {}).get("type", "")).lower()
    if kind:
        return kind.startswith("embed")
    return bool(_EMBEDDING_NAME.search(model_id))


def pick_chat_model(
    entries: Iterable[Mapping[str, Any]], *, exclude: Iterable[str] = ()
) -> str | None:
    """The first listed model that looks like a chat model, or None."""
    excluded = {name for name in exclude if name}
    for entry in entries:
        model_id = str(entry.get("id", ""))
        if not model_id or model_id in excluded:
            continue
        if not looks_like_embedding_model(model_id, entry):
            return model_id
    return None


class LMStudioModels:
    """Finds, and builds, the chat model of one OpenAI-compatible server.

    The resolved name and model are cached for the process; a failed resolution is not, so a
    server started later is picked up by the next call.
    """

    def __init__(
        self,
        settings: LMStudioSettings,
        http_client: httpx2.AsyncClient,
        *,
        profile: Mapping[str, Any] | None = None,
    ) -> None:
        self._settings = settings
        self._http = http_client
        self._profile_overrides = {**structured_output_profile(settings), **(profile or {})}
        self._profile: OpenAIModelProfile | None = None
        self._openai: AsyncOpenAI | None = None
        self._name: str | None = None
        self._models: dict[str, Model] = {}
        self._windows: dict[str, int | None] = {}
        self._tokenizer = ServerTokenizer(http_client, settings.base_url, self._auth_headers)
        self._lock = asyncio.Lock()

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def configured_model(self) -> str:
        """`LM_STUDIO__MODEL`; empty means auto-detect."""
        return self._settings.model

    @property
    def embedding_model(self) -> str:
        return self._settings.embedding_model

    @property
    def profile(self) -> OpenAIModelProfile:
        """`LOCAL_SERVER_PROFILE` with the settings' and the caller's keys on top (built
        with the first model: a health check needs none)."""
        if self._profile is None:
            self._profile = local_server_profile(self._profile_overrides)
        return self._profile

    # --- discovery -----------------------------------------------------------------
    async def list_model_entries(
        self, *, http_timeout: float | None = None, retry: bool = True
    ) -> list[dict[str, Any]]:
        """The raw `data` entries of `GET {base_url}/models`.

        Raises `ModelUnavailable` when the server cannot be reached or answers badly.
        `retry=False` skips the backoff (health checks want a quick answer).
        """
        url = f"{self._settings.base_url}/models"
        kwargs: dict[str, Any] = {"headers": self._auth_headers()}
        if http_timeout is not None:
            kwargs["timeout"] = http_timeout
        if not retry:
            kwargs["extensions"] = {NO_RETRY: True}
        try:
            response = await self._http.get(url, **kwargs)
        except httpx2.HTTPError as exc:
            raise self.unreachable(exc) from exc
        if response.status_code != 200:
            raise self.unreachable(None, status=response.status_code)
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError) as exc:
            raise self.unreachable(exc) from exc
        if not isinstance(data, list):
            raise self.unreachable(None, reason="its /models answer has no `data` list")
        return [entry for entry in data if isinstance(entry, dict)]

    async def list_models(self, *, include_embeddings: bool = False) -> list[str]:
        """The ids of the chat models the server lists (all of them with `include_embeddings`)."""
        ids = [(str(e["id"]), e) for e in await self.list_model_entries() if e.get("id")]
        if include_embeddings:
            return [model_id for model_id, _ in ids]
        skip = self._settings.embedding_model
        return [
            model_id
            for model_id, entry in ids
            if model_id != skip and not looks_like_embedding_model(model_id, entry)
        ]

    async def resolve_model_name(self) -> str:
        """`LM_STUDIO__MODEL` if set, else the first chat model the server lists."""
        if self._settings.model:
            return self._settings.model
        if self._name is not None:
            return self._name
        async with self._lock:
            if self._name is None:
                entries = await self.list_model_entries()
                name = pick_chat_model(entries, exclude=[self._settings.embedding_model])
                if name is None:
                    listed = ", ".join(str(e.get("id")) for e in entries) or "none"
                    raise ModelUnavailable(
                        f"The LLM server at {self.base_url} lists no chat model (listed: "
                        f"{listed}). Load one, or set LM_STUDIO__MODEL.",
                        details={"base_url": self.base_url, "variable": "LM_STUDIO__MODEL"},
                    )
                self._name = name
            return self._name

    def invalidate(self) -> None:
        """Forget the resolved model, e.g. after the server switched models."""
        self._name = None
        self._models.clear()

    # --- models --------------------------------------------------------------------
    def chat_model(self, name: str) -> Model:
        """An `OpenAIChatModel` for `name` on this server, through the shared client (one
        that also reads llama.cpp's `timings` for cached prompt tokens). The OpenAI SDK and
        Pydantic AI's OpenAI model are imported here, by the first model built, not by a
        health check or the app's import (issue #15)."""
        from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

        from adapters.lmstudio.timings import LocalChatModel

        provider = OpenAICompatibleProvider(PROVIDER_NAME, openai_client=self._openai_client())
        return LocalChatModel(name, provider=provider, profile=self.profile)

    async def model(self, name: str | None = None) -> Model:
        """The chat model `name`, or the default one (`resolve_model_name`); cached by name.

        Satisfies `application.agents.ports.ModelSource`: an agent definition may name its
        model, and one without a name gets the server's default.
        """
        if name is not None and is_provider_model(name):  # another provider (`openai:…`)
            if name not in self._models:
                self._models[name] = provider_model(name)
            return self._models[name]
        resolved = local_name(name) if name else await self.resolve_model_name()
        model = self._models.get(resolved)
        if model is None:
            model = self._models[resolved] = self.chat_model(resolved)
        return model

    async def context_window(self, name: str | None = None) -> int | None:
        """`LM_STUDIO__CONTEXT_TOKENS`, else what the server reports (cached per model);
        None when neither says or the server cannot be asked now. A provisional answer
        (LM Studio's trained maximum for a model it has not loaded yet) is used but not
        cached: the next call, after the completion that loads the model, asks again."""
        if is_provider_model(name):
            return None  # a hosted provider: its own limits apply
        if self._settings.context_tokens:
            return self._settings.context_tokens
        try:
            resolved = local_name(name) if name else await self.resolve_model_name()
        except MAIError:
            return None
        if resolved in self._windows:
            return self._windows[resolved]
        found = await discover_context_window(
            self._http, self.base_url, resolved, self._auth_headers()
        )
        if found is None or found.final:
            self._windows[resolved] = found.tokens if found else None
        return found.tokens if found else None

    async def count_tokens(self, text: str, name: str | None = None) -> int | None:
        """`text`'s tokens by the server's tokenizer (`tokenize.py`); None for a hosted
        provider, a server without one, or one that cannot be reached now."""
        if is_provider_model(name):
            return None
        try:
            resolved = local_name(name) if name else await self.resolve_model_name()
        except MAIError:
            return None
        return await self._tokenizer.count(text, resolved)

    # --- helpers -------------------------------------------------------------------
    def unreachable(
        self, exc: BaseException | None, *, status: int | None = None, reason: str = ""
    ) -> ModelUnavailable:
        """The `ModelUnavailable` every failure to reach the server turns into."""
        if not reason:
            reason = f"HTTP {status}" if status is not None else type(exc).__name__
        details: dict[str, Any] = {"base_url": self.base_url, "variable": BASE_URL_VARIABLE}
        if status is not None:
            details["status"] = status
        return ModelUnavailable(
            f"The LLM server at {self.base_url} is unreachable ({reason}). Start LM Studio "
            f"or another OpenAI-compatible server there, or set {BASE_URL_VARIABLE}.",
            details=details,
        )

    def translate_error(self, exc: BaseException) -> MAIError | None:
        """`translate_model_error` with this server's address in the message."""
        return translate_model_error(exc, base_url=self.base_url)

    def _auth_headers(self) -> dict[str, str]:
        key = self._settings.api_key.get_secret_value()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _openai_client(self) -> AsyncOpenAI:
        # One SDK client over the shared HTTP client. max_retries=0: the transport retries
        # (see client.py); the SDK retrying too would multiply the attempts.
        if self._openai is None:
            from adapters.lmstudio.sdk_client import LocalServerOpenAI

            self._openai = LocalServerOpenAI(
                base_url=self._settings.base_url,
                api_key=self._settings.api_key.get_secret_value() or "not-needed",
                http_client=self._http,
                max_retries=0,
            )
        return self._openai
