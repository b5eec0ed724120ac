"""Parsing cached per document text, with syntax errors reported as strawberry reports them.

Strawberry's `ParserCache` parses inside its own hook, so a syntax error escapes before the
error masking that gives errors the contract's shape. Here a text that does not parse is
left to strawberry, which parses it again and reports the error as usual; a text that does
is parsed once (the bounded LRU strawberry's `ParserCache` uses, shared with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress

from graphql import GraphQLError
from strawberry.extensions import ParserCache


class CachedParsing(ParserCache):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is None:
            # a text that does not parse: strawberry parses it again and reports it
            with suppress(GraphQLError):
                context.graphql_document = self.cached_parse_document(
                    context.query, **context.parse_options
                )
        yield
