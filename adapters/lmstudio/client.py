"""The one HTTP client every call to the LLM server goes through.

Pydantic AI 2 and the OpenAI SDK 3 speak `httpx2` (a legacy `httpx.AsyncClient` still works
but is deprecated), so the client is an `httpx2.AsyncClient`. Its transport is a stack:

    NullContentTransport      assistant `content: null` -> `""` (local servers reject null)
      AsyncHTTPX2TenacityTransport   pydantic_ai.retries: backoff on connection errors, 429, 5xx
        AsyncHTTPTransport         the connection pool

Retrying lives here, once, for `GET /models` and chat completions alike; the OpenAI SDK's own
retries are switched off where its client is built (`models.py`), so attempts do not multiply.

Pydantic AI (a second to import) is imported by the first request that may be retried, not
when the client is opened: `mai health`, whose one request is never retried, does without
it (issue #15).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import httpx2
from tenacity import (
    RetryCallState,
    retry_base,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

from adapters.settings import LMStudioSettings

if TYPE_CHECKING:
    from pydantic_ai.retries import RetryConfig

#: Transport failures where the request cannot have been processed, or the connection
#: broke before an answer: worth another attempt. A read *timeout* is not among them: the
#: server got the request and is slow, and asking again only doubles the wait.
RETRYABLE_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.RemoteProtocolError,
    httpx2.ReadError,
    httpx2.WriteError,
)

#: The connect phase is bounded separately: a server that is down should be reported fast,
#: whatever the (long) read timeout a slow local model needs.
CONNECT_TIMEOUT_SECONDS = 5.0

#: A request extension that turns retries off for one request: `{NO_RETRY: True}`
#: (health checks want a quick answer, not a backoff).
NO_RETRY = "mai.no_retry"

Sleep = Callable[[float], Awaitable[None]]


def is_retryable_status(status_code: int) -> bool:
    """429 (busy) and 5xx (server trouble) may pass; any other 4xx is our request's fault."""
    return status_code == 429 or status_code >= 500


def _retry_after_seconds(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from LLM servers, fall back to backoff


class _Wait:
    """Exponential backoff, or the server's `Retry-After` when it gives one (capped)."""

    def __init__(self, base: float, maximum: float) -> None:
        self._exponential = wait_exponential(multiplier=base, max=maximum)
        self._maximum = maximum

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            after = _retry_after_seconds(outcome.result())
            if after is not None:
                return min(after, self._maximum)
        return float(self._exponential(state))


class _RetryAllowed(retry_base):
    """False for a request that carries the `NO_RETRY` extension."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        request = retry_state.args[0] if retry_state.args else None
        return not (isinstance(request, httpx2.Request) and request.extensions.get(NO_RETRY))


async def _close_discarded_response(state: RetryCallState) -> None:
    # A response that is about to be retried is dropped: give its connection back.
    outcome = state.outcome
    if outcome is not None and not outcome.failed:
        await outcome.result().aclose()


def _last_outcome(state: RetryCallState) -> Any:
    # Attempts exhausted: hand back the last response untouched (so the caller sees the real
    # 503 and its body), or re-raise the last transport error.
    assert state.outcome is not None
    return state.outcome.result()


def retry_config(
    max_retries: int,
    *,
    backoff_seconds: float = 0.5,
    max_backoff_seconds: float = 8.0,
    sleep: Sleep | None = None,
) -> RetryConfig:
    """Tenacity settings: `max_retries` retries after the first attempt.

    Retrying on the *result* rather than raising from `validate_response` keeps the final
    response intact: the OpenAI SDK then reports a real HTTP 503 instead of a connection
    error, and pydantic-ai turns it into `ModelHTTPError(503)`.
    """
    config: RetryConfig = {  # a TypedDict: a plain dict at run time
        "retry": _RetryAllowed()
        & (
            retry_if_exception_type(RETRYABLE_TRANSPORT_ERRORS)
            | retry_if_result(lambda r: is_retryable_status(r.status_code))
        ),
        "stop": stop_after_attempt(max_retries + 1),
        "wait": _Wait(backoff_seconds, max_backoff_seconds),
        "before_sleep": _close_discarded_response,
        "retry_error_callback": _last_outcome,
    }
    if sleep is not None:
        config["sleep"] = sleep
    return config


class RetryingTransport(httpx2.AsyncBaseTransport):
    """Pydantic AI's `AsyncHTTPX2TenacityTransport` with `config` over `wrapped`, built by
    the first request that may be retried. A `NO_RETRY` request goes to `wrapped` directly,
    as the retrying transport would send it (its `retry` refuses every retry of one)."""

    def __init__(self, config: RetryConfig, wrapped: httpx2.AsyncBaseTransport) -> None:
        self.config = config
        self.wrapped = wrapped
        self._retrying: httpx2.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.extensions.get(NO_RETRY):
            response = await self.wrapped.handle_async_request(request)
            response.request = request
            return response
        retrying = self._retrying
        if retrying is None:
            from pydantic_ai.retries import AsyncHTTPX2TenacityTransport

            retrying = self._retrying = AsyncHTTPX2TenacityTransport(
                self.config, wrapped=self.wrapped
            )
        return await retrying.handle_async_request(request)

    async def aclose(self) -> None:
        await self.wrapped.aclose()


class NullContentTransport(httpx2.AsyncBaseTransport):
    """Rewrite chat-completion requests so no assistant message has `content: null`.

    The OpenAI SDK sends `null` for an assistant turn that only called tools; llama.cpp's
    server (and others) answer that with an error. An empty string means the same.
    """

    def __init__(
        self, wrapped: httpx2.AsyncBaseTransport, *, json_object_schema: bool = False
    ) -> None:
        self._wrapped = wrapped
        # llama-cpp-python's server takes a JSON schema only as
        # `{"type": "json_object", "schema": …}` (the OpenAI `json_schema` form is a 500).
        self._json_object_schema = json_object_schema

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path.endswith("/chat/completions"):
            request = await _without_null_content(request, self._json_object_schema)
        return await self._wrapped.handle_async_request(request)

    async def aclose(self) -> None:
        await self._wrapped.aclose()


async def _without_null_content(
    request: httpx2.Request, json_object_schema: bool = False
) -> httpx2.Request:
    body = await request.aread()
    if not json_object_schema and b"null" not in body:
        return request  # no JSON null anywhere (a literal cannot be escaped): nothing to fix
    try:
        payload = json.loads(body)
    except ValueError:
        return request
    changed = fix_null_assistant_content(payload)
    if json_object_schema:
        changed = as_json_object_schema(payload) or changed
    if not changed:
        return request
    headers = httpx2.Headers(request.headers)
    headers.pop("content-length", None)  # recomputed for the new body
    return httpx2.Request(
        request.method,
        request.url,
        headers=headers,
        content=json.dumps(payload, ensure_ascii=False).encode(),
        extensions=request.extensions,
    )


def fix_null_assistant_content(payload: Any) -> bool:
    """Replace `content: null` of assistant messages by `""` in place; True if any changed."""
    messages = payload.get("messages") if isinstance(payload, dict) else None
    if not isinstance(messages, list):
        return False
    changed = False
    for message in messages:
        if (
            isinstance(message, dict)
            and message.get("role") == "assistant"
            and message.get("content") is None
        ):
            message["content"] = ""
            changed = True
    return changed


def as_json_object_schema(payload: Any) -> bool:
    """`response_format` from OpenAI's `json_schema` form to `{"type": "json_object",
    "schema": …}` in place; True if it changed."""
    form = payload.get("response_format") if isinstance(payload, dict) else None
    if not isinstance(form, dict) or form.get("type") != "json_schema":
        return False
    spec = form.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    payload["response_format"] = {"type": "json_object", "schema": schema or {}}
    return True


def build_transport(
    max_retries: int,
    *,
    wrapped: httpx2.AsyncBaseTransport | None = None,
    backoff_seconds: float = 0.5,
    sleep: Sleep | None = None,
    json_object_schema: bool = False,
) -> httpx2.AsyncBaseTransport:
    """The transport stack described above; `wrapped` replaces the network (tests)."""
    inner = wrapped if wrapped is not None else httpx2.AsyncHTTPTransport()
    retrying = RetryingTransport(
        retry_config(max_retries, backoff_seconds=backoff_seconds, sleep=sleep), wrapped=inner
    )
    return NullContentTransport(retrying, json_object_schema=json_object_schema)


def open_http_client(
    settings: LMStudioSettings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    backoff_seconds: float = 0.5,
    sleep: Sleep | None = None,
) -> httpx2.AsyncClient:
    """The shared client: timeouts from settings, retries and the null-content fix.

    No I/O until the first request. The caller owns it: `await client.aclose()` at
    shutdown (the container opens it as a Resource).
    """
    timeout = httpx2.Timeout(
        settings.timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, settings.timeout_seconds)
    )
    # What Pydantic AI's `create_async_httpx2_client` builds (its user agent; with a transport
    # its pool limits do not apply), without importing Pydantic AI for it.
    return httpx2.AsyncClient(
        timeout=timeout,
        headers={"User-Agent": _user_agent()},
        transport=build_transport(
            settings.max_retries,
            wrapped=transport,
            backoff_seconds=backoff_seconds,
            sleep=sleep,
            json_object_schema=settings.structured_output == "json_object",
        ),
    )


def _user_agent() -> str:
    """Pydantic AI's user agent (`pydantic_ai.models.get_user_agent`), read from the installed
    package's metadata rather than by importing it."""
    try:
        return f"pydantic-ai/{version('pydantic_ai_slim')}"
    except PackageNotFoundError:  # pragma: no cover - pydantic-ai-slim is a dependency
        return "pydantic-ai"
