"""A Strawberry extension that counts and times every GraphQL operation."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from adapters.observability.graphql_metrics import operation_finished

MAX_NAME = 64  # operation names are client-chosen: bounded, so labels stay few


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        try:  # parses the document: a query that does not parse has no type
            kind = ctx.operation_type.value
        except Exception:
            kind = "invalid"
        name = (ctx.operation_name or "anonymous")[:MAX_NAME]
        ok = not (ctx.result is not None and ctx.result.errors) and not ctx.pre_execution_errors
        operation_finished(kind, name, ok, time.perf_counter() - started)
