"""Health of the LLM server, for `GET /ready` and `mai health`."""

from __future__ import annotations

import time

from adapters.lmstudio.models import LMStudioModels, pick_chat_model
from domain.errors import ModelUnavailable
from domain.health import AdapterHealth

#: A health check must answer quickly whatever the chat timeout is.
HEALTH_TIMEOUT_SECONDS = 2.0


class LMStudioHealth:
    """Up when `GET /models` answers, without retries and within a short timeout.

    Not required: without the LLM the service still serves auth, conversations, memories
    and the rest, so readiness reports it as degraded rather than unavailable.
    """

    name = "llm"
    backend = "lmstudio"

    def __init__(
        self, models: LMStudioModels, *, timeout_seconds: float = HEALTH_TIMEOUT_SECONDS
    ) -> None:
        self._models = models
        self._timeout = timeout_seconds

    async def check(self) -> AdapterHealth:
        started = time.perf_counter()
        try:
            entries = await self._models.list_model_entries(http_timeout=self._timeout, retry=False)
        except ModelUnavailable as exc:
            cause = exc.__cause__
            detail = type(cause).__name__ if cause else f"HTTP {exc.details.get('status', '?')}"
            return self._health(False, detail)
        latency_ms = (time.perf_counter() - started) * 1000
        configured = self._models.configured_model
        name = configured or pick_chat_model(entries, exclude=[self._models.embedding_model])
        if name is None:
            return self._health(False, "no chat model loaded", latency_ms)
        return self._health(True, name, latency_ms)

    def _health(self, ok: bool, detail: str, latency_ms: float | None = None) -> AdapterHealth:
        return AdapterHealth(
            self.name, ok, self.backend, detail=detail, required=False, latency_ms=latency_ms
        )
