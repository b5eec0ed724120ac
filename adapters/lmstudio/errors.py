"""Turn what a failing LLM call raises into the framework's errors.

A server that is down surfaces, depending on where the call failed, as pydantic-ai's
`ModelConnectionError` (an agent run; its `__cause__` is `openai.APIConnectionError`, whose
cause is `httpx2.ConnectError`), as an `httpx2` error (our own `GET /models`), or as the
OpenAI SDK's errors (a direct SDK call). All of them mean the same to a user: the model is
unavailable for now, try again later.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

import httpx2

from domain.errors import MAIError, ModelOutputInvalid, ModelUnavailable, UsageLimitExceeded

if TYPE_CHECKING:
    from pydantic_ai import exceptions as pai

BASE_URL_VARIABLE = "LM_STUDIO__BASE_URL"


@functools.cache
def _transport_errors() -> tuple[type[BaseException], ...]:
    # Pydantic AI's exceptions and the legacy httpx are imported by the first error
    # translated (both are loaded by then wherever a model ran), not with the adapter: a
    # health check that finds the server down should not pay a second for them (issue #15).
    errors: list[type[BaseException]] = [httpx2.TransportError]
    try:  # legacy httpx: still what some SDKs raise; optional here
        import httpx as legacy_httpx
    except ImportError:  # pragma: no cover - httpx is a project dependency today
        return tuple(errors)
    errors.append(legacy_httpx.TransportError)
    return tuple(errors)


def _is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


def _request_origin(exc: BaseException) -> str | None:
    """The server URL a failed request went to, found on the error or its causes."""
    seen: BaseException | None = exc
    for _ in range(8):  # the cause chain is short; bound it anyway
        if seen is None:
            return None
        request = getattr(seen, "_request", None)  # httpx2/httpx raise on `.request` if unset
        request = request if request is not None else getattr(seen, "request", None)
        url = getattr(request, "url", None)
        if url is not None:
            return f"{url.scheme}://{url.netloc.decode()}"
        seen = seen.__cause__ or seen.__context__
    return None


def _unavailable(
    exc: BaseException, base_url: str | None, reason: str, *, retryable: bool = True
) -> ModelUnavailable:
    where = base_url or _request_origin(exc) or "the configured address"
    details: dict[str, object] = {"variable": BASE_URL_VARIABLE, "cause": type(exc).__name__}
    if base_url or where != "the configured address":
        details["base_url"] = base_url or where
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float):
        details["retry_after"] = retry_after
    return ModelUnavailable(
        f"The LLM server at {where} is unreachable or failing ({reason}). Check that it is "
        f"running, or set {BASE_URL_VARIABLE}.",
        details=details,
        retryable=retryable,
    )


def translate_model_error(exc: BaseException, *, base_url: str | None = None) -> MAIError | None:
    """The `MAIError` for an exception from an LLM call, or None when it is not one we know.

    Connection failures, timeouts, 429 and 5xx become a retryable `ModelUnavailable` (503);
    an unknown model (404) a non-retryable one naming LM_STUDIO__MODEL; output the model
    could not get right after its retries `ModelOutputInvalid`; a run over its usage limits
    `UsageLimitExceeded`. An `MAIError` is returned unchanged.
    """
    if isinstance(exc, MAIError):
        return exc
    from pydantic_ai import exceptions as pai

    if isinstance(exc, pai.ModelConnectionError):  # incl. ModelTimeoutError
        return _unavailable(exc, base_url, _connection_reason(exc))
    if isinstance(exc, pai.ModelRequestTimeout):
        return _unavailable(exc, base_url, f"no answer within {exc.timeout:g} s")
    if isinstance(exc, pai.ModelNotFoundError):
        return ModelUnavailable(
            f"The LLM server has no model {exc.model_name!r} (check LM_STUDIO__MODEL, and that "
            f"{BASE_URL_VARIABLE} ends in /v1).",
            details={"variable": "LM_STUDIO__MODEL", "model": exc.model_name},
            retryable=False,
        )
    if isinstance(exc, pai.ModelHTTPError) and _is_transient_status(exc.status_code):
        return _unavailable(exc, base_url, f"HTTP {exc.status_code}")
    if isinstance(
        exc, pai.ModelUnavailableError | pai.ModelServerError | pai.ModelRateLimitError
    ):  # the same categories when they came without an HTTP status
        return _unavailable(exc, base_url, type(exc).__name__)
    # The OpenAI SDK's own errors. Not imported for this (0.6 s of a cold start, issue #15):
    # until something imported the SDK, no exception can be one of them.
    openai = sys.modules.get("openai")
    if openai is not None and isinstance(exc, openai.APIConnectionError):  # incl. timeouts
        return _unavailable(exc, base_url, type(exc).__name__)
    if (
        openai is not None
        and isinstance(exc, openai.APIStatusError)
        and _is_transient_status(exc.status_code)
    ):
        return _unavailable(exc, base_url, f"HTTP {exc.status_code}")
    if isinstance(exc, _transport_errors()):
        return _unavailable(exc, base_url, type(exc).__name__)
    if isinstance(exc, pai.UsageLimitExceeded):
        return UsageLimitExceeded(str(exc))
    if isinstance(exc, pai.UnexpectedModelBehavior):
        return ModelOutputInvalid(
            "The model's answer could not be used.", details={"reason": exc.message}
        )
    return None


def _connection_reason(exc: pai.ModelConnectionError) -> str:
    from pydantic_ai.exceptions import ModelTimeoutError

    if isinstance(exc, ModelTimeoutError):
        return "timed out"
    if exc.phase in ("connect", "pool"):
        return "connection refused or unreachable"
    cause = exc.__cause__
    inner = cause.__cause__ if cause is not None else None
    return type(inner or cause or exc).__name__
