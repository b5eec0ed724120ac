"""The one place GraphQL turns errors into the contract's shape.

Every error leaves as `{"message", "path", "extensions": {"error": {code, message,
details, retryable}}}`. Framework errors keep their code; GraphQL syntax/validation
errors (including the depth/alias/token limits) become `GRAPHQL_VALIDATION_FAILED`;
anything unexpected is masked as `INTERNAL_ERROR` (logged, never shown).
"""

from __future__ import annotations

import structlog
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from adapters.observability.metrics import ERRORS
from domain.errors import MAIError

log = structlog.get_logger(__name__)


def _contract(
    code: str, message: str, details: dict[str, object] | None = None, retryable: bool = False
) -> dict[str, object]:
    return {"code": code, "message": message, "details": details or {}, "retryable": retryable}


class ContractErrors(MaskErrors):
    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _e: True)

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
