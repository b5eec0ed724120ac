"""Pure-ASGI middleware: request id, access log and metrics; the request body limit."""

from __future__ import annotations

import json
import re
import time
import uuid

import structlog
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS
from entrypoints.rest.errors import error_body

log = structlog.get_logger("mai.http")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Binds a correlation id for the request, echoes it as X-Request-ID, records metrics.

    Metrics are labelled by the route *template* (`/conversations/{id}`), never the raw
    path, so label cardinality stays bounded.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                route = route_template(scope)
                elapsed = time.perf_counter() - started
                method = scope["method"]
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_LATENCY.labels(method, route).observe(elapsed)
                log.info(
                    "http_request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.clear_contextvars()


def route_template(scope: Scope) -> str:
    """`/api/v1/conversations/{conversation_id}` for a matched request, else `<unmatched>`.

    Built from the path and its matched parameters, so it is right for routes of nested
    routers too (FastAPI no longer flattens included routers into one route list).
    """
    if scope.get("route") is None:
        return "<unmatched>"
    segments = scope["path"].split("/")
    by_value = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    return "/".join("{" + by_value[s] + "}" if s in by_value else s for s in segments)


class BodySizeLimitMiddleware:
    """Refuse request bodies over `max_bytes` with 413 in the contract's error shape.

    (FastAPI's own `max_body_size` answers in plain text, which breaks the contract.)
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        raw = json.dumps(
            error_body(
                "PAYLOAD_TOO_LARGE",
                f"Request body exceeds {self.max_bytes} bytes.",
                {"limit": self.max_bytes},
            )
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": raw})


class BodyTooLarge(HTTPException):
    """Raised while reading a chunked body; an HTTPException so FastAPI re-raises it as is
    and the error handlers map it to PAYLOAD_TOO_LARGE."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="Request body is too large.")


# Pages that load GraphiQL / Swagger UI assets get no Content-Security-Policy (they need
# scripts); everything else is data and may run nothing.
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
_BASE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeadersMiddleware:
    """Security headers on every HTTP response (API__SECURITY_HEADERS, API__HSTS)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                extra = [h for h in _BASE_HEADERS if h[0] not in present]
                content_type = dict(headers).get(b"content-type", b"")
                if not content_type.startswith(b"text/html"):
                    extra.append((b"content-security-policy", _API_CSP))
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, with_headers)
