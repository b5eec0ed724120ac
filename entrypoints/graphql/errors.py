"""The one place GraphQL turns errors into the contract's shape.

Every error leaves as `{"message", "path", "extensions": {"error": {code, message,
details, retryable}}}`. Framework errors keep their code; GraphQL syntax/validation
errors (including the depth/alias/token limits) become `GRAPHQL_VALIDATION_FAILED`;
anything unexpected is masked as `INTERNAL_ERROR` (logged, never shown). Arguments no store
can keep (NUL, lone surrogates, deep nesting) are VALIDATION_FAILED before a resolver runs.

`ContractGraphQLRouter` does the same for what fails before GraphQL runs: a body that is
not JSON, a wrong content type, no query, a subscription sent as a plain POST… answer 400
in the contract's REST error shape instead of Strawberry's text/plain (or a 500).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import structlog
from cross_web import HTTPException
from fastapi import Request
from graphql import GraphQLResolveInfo, OperationType, get_operation_ast, parse
from graphql.error import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from strawberry.extensions import MaskErrors
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from adapters.observability.metrics import ERRORS
from domain.errors import MAIError, ValidationFailed
from domain.user_input import check_value

log = structlog.get_logger(__name__)


def _contract(
    code: str, message: str, details: dict[str, object] | None = None, retryable: bool = False
) -> dict[str, object]:
    return {"code": code, "message": message, "details": details or {}, "retryable": retryable}


class ContractErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _e: True)

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if kwargs and info.path.prev is None:  # a root field: where user input arrives
            for name, value in kwargs.items():
                try:
                    check_value(value)
                except ValueError as exc:
                    raise ValidationFailed(
                        f"{name} {exc}.", details={"field": name, "problem": str(exc)}
                    ) from None
        return _next(root, info, *args, **kwargs)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, MAIError):
            body = original.to_dict()["error"]
        elif original is None:
            body = _contract("GRAPHQL_VALIDATION_FAILED", error.message)
        else:
            log.error(
                "graphql_unhandled_error", error_type=type(original).__name__, exc_info=original
            )
            body = _contract("INTERNAL_ERROR", "An unexpected error occurred.", retryable=True)
        ERRORS.labels("graphql", body["code"]).inc()
        return GraphQLError(
            message=str(body["message"]),
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": body["code"], "error": body},
        )


class ContractGraphQLRouter(GraphQLRouter[Any, None]):
    """Strawberry's FastAPI router, with its HTTP-level refusals in the contract's shape."""

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as exc:
            if not isinstance(request, Request):  # a WebSocket: Strawberry handles it
                raise
            # Mapped by the REST error handlers (BAD_REQUEST, METHOD_NOT_ALLOWED, …).
            raise StarletteHTTPException(exc.status_code, exc.reason) from exc

    def decode_json(self, data: str | bytes) -> object:
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8; absurd nesting
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(value, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return value

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        data = kwargs.get("request_data")
        if isinstance(data, GraphQLRequestData) and _is_subscription(data):
            raise HTTPException(
                400,
                "A subscription needs a WebSocket (graphql-transport-ws) or a multipart "
                "streaming request.",
            )
        return await super().execute_single(*args, **kwargs)


def _is_subscription(data: GraphQLRequestData) -> bool:
    """Whether the operation to run is a subscription (which Strawberry would otherwise
    execute as a query over a plain POST and fail on, as an INTERNAL_ERROR)."""
    if not data.query or "subscription" not in data.query:
        return False
    try:
        document = parse(data.query, max_tokens=10_000)
    except GraphQLError:
        return False  # reported as usual by the normal execution
    operation = get_operation_ast(document, data.operation_name)
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION
