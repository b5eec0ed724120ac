"""The one place REST turns errors into the contract's shape and status."""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.observability.metrics import ERRORS
from domain.errors import (
    AuthenticationFailed,
    BadRequest,
    Conflict,
    MAIError,
    ModelOutputInvalid,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    PipelineError,
    PromptError,
    RateLimited,
    ServiceUnavailable,
    StageFailed,
    StageTimeout,
    UsageLimitExceeded,
    ValidationFailed,
)
from domain.tools.errors import RetryableToolError, ToolTimeout

log = structlog.get_logger(__name__)

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "AUTHENTICATION_FAILED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}

#: The HTTP status of each error class. An error takes the status of its nearest class
#: listed here (a `PromptNotFound` is a `NotFound`: 404), whatever `code` it carries; what
#: is not listed is a 500. Bad input is never a 500 (CONTRACT.md).
HTTP_STATUS: dict[type[MAIError], int] = {
    MAIError: 500,  # ToolFailed, ConfigurationError: the server's fault
    BadRequest: 400,
    AuthenticationFailed: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    ValidationFailed: 422,
    UsageLimitExceeded: 422,
    PromptError: 422,
    PipelineError: 422,
    StageFailed: 500,  # a PipelineError, but a stage's crash is not the caller's input
    RateLimited: 429,
    ModelOutputInvalid: 502,
    RetryableToolError: 502,
    ServiceUnavailable: 503,
    StageTimeout: 504,
    ToolTimeout: 504,
}


def http_status(exc: MAIError) -> int:
    """The status REST answers `exc` with: its nearest class's in `HTTP_STATUS`."""
    return next(HTTP_STATUS[cls] for cls in type(exc).__mro__ if cls in HTTP_STATUS)


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, UPPER_SNAKE.", pattern=r"^[A-Z][A-Z0-9_]*$")
    message: str
    details: dict[str, Any]
    retryable: bool


class ErrorOut(BaseModel):
    """Every error's body (CONTRACT.md)."""

    error: ErrorDetail


#: The error responses every operation can give, for the OpenAPI document (so clients and
#: schema-driven tests know an error's shape): pass as `responses=` to a router or the app.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "Refused: the error body of CONTRACT.md."},
    "503": {"model": ErrorOut, "description": "A service this needs is down; retryable."},
}


class ContractJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: an error message may quote user input, and a lone
    surrogate in it must not turn the error into a 500 while encoding."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_body(
    code: str, message: str, details: dict[str, Any] | None = None, retryable: bool = False
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "retryable": retryable,
        }
    }


def mai_error_response(exc: MAIError) -> JSONResponse:
    ERRORS.labels("rest", exc.code).inc()
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return ContractJSONResponse(exc.to_dict(), status_code=http_status(exc), headers=headers)


async def _mai_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MAIError)
    if http_status(exc) >= 500:
        log.warning("request_failed", code=exc.code, error=exc.message)
    return mai_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    ERRORS.labels("rest", "VALIDATION_FAILED").inc()
    return ContractJSONResponse(
        error_body("VALIDATION_FAILED", "The request is not valid.", {"errors": problems}),
        status_code=422,
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ").capitalize()
    ERRORS.labels("rest", code).inc()
    return ContractJSONResponse(
        error_body(code, message),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", error_type=type(exc).__name__)
    ERRORS.labels("rest", "INTERNAL_ERROR").inc()
    return ContractJSONResponse(
        error_body("INTERNAL_ERROR", "An unexpected error occurred.", retryable=True),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MAIError, _mai_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
