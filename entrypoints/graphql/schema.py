"""The GraphQL schema and its router. Resolvers are thin: parse, call a use-case, map."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import Info

from container import Container
from entrypoints.graphql.api_keys import ApiKeyMutation, ApiKeyQuery
from entrypoints.graphql.caching import CachedParsing
from entrypoints.graphql.chat import ChatMutation, Subscription
from entrypoints.graphql.context import Context
from entrypoints.graphql.errors import ContractErrors
from entrypoints.graphql.evals import EvalQuery
from entrypoints.graphql.graphiql import LocalGraphiQLRouter
from entrypoints.graphql.memory import MemoryMutation, MemoryQuery
from entrypoints.graphql.metrics import OperationMetrics
from entrypoints.graphql.pipelines import (
    PipelineMutation,
    PipelineQuery,
    PipelineSubscription,
)
from entrypoints.graphql.prompts import PromptQuery
from entrypoints.graphql.tools import ToolMutation, ToolQuery
from entrypoints.graphql.types import (
    AdapterStatus,
    AgentType,
    ConversationConnection,
    ConversationType,
    Health,
    UserType,
    parse_id,
)
from entrypoints.web.pages import console_dist

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000
DOCUMENT_CACHE = 256  # parsed and validated documents kept (distinct texts, LRU)


@strawberry.type
class Query(MemoryQuery, PromptQuery, ToolQuery, PipelineQuery, ApiKeyQuery, EvalQuery):
    @strawberry.field(description="Readiness of every adapter of the active profile.")
    async def health(self, info: Info[Context, None]) -> Health:
        readiness = await info.context.container.check_readiness().execute()
        return Health(
            status=readiness.status, adapters=[AdapterStatus.of(a) for a in readiness.adapters]
        )

    @strawberry.field
    async def me(self, info: Info[Context, None]) -> UserType:
        return UserType.of(await info.context.require_user())

    @strawberry.field
    async def conversations(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> ConversationConnection:
        user = await info.context.require_user()
        page = await info.context.container.list_conversations().execute(user.id, first, after)
        return ConversationConnection(
            items=[ConversationType.of(c) for c in page.items], next_cursor=page.next_cursor
        )

    @strawberry.field
    async def conversation(self, info: Info[Context, None], id: strawberry.ID) -> ConversationType:
        user = await info.context.require_user()
        found = await info.context.container.get_conversation().execute(user.id, parse_id(id, "id"))
        return ConversationType.of(found)

    @strawberry.field(description="The agents on offer.")
    async def agents(self, info: Info[Context, None]) -> list[AgentType]:
        await info.context.require_user()
        return [AgentType.of(d) for d in info.context.container.agent_catalog().all()]


@strawberry.type
class Mutation(ChatMutation, MemoryMutation, ToolMutation, PipelineMutation, ApiKeyMutation):
    pass


@strawberry.type(name="Subscription")
class AllSubscriptions(Subscription, PipelineSubscription):
    pass


def build_schema(*, production: bool = False) -> strawberry.Schema:
    """In production introspection is off (clients ship their queries; attackers get no
    map), as is GraphiQL (see `build_router`)."""
    # Parsing and validating the chat subscription's document cost ~1 ms and ~3.5 ms per
    # operation: both are cached (clients send the same few documents again and again;
    # bounded LRUs, so unique documents cannot grow memory; see caching.py for syntax
    # errors). The limits' rules are built once, so that every operation brings the same
    # rule classes, which the validation cache is keyed by (the limiters make a new class
    # per instance).
    limits = [
        *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    ]
    extensions: list[Any] = [
        OperationMetrics,
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: CachedParsing(maxsize=DOCUMENT_CACHE),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE),
        ContractErrors,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=AllSubscriptions, extensions=extensions
    )


def build_router(container: Container, *, path: str = "") -> GraphQLRouter[Context, None]:
    """The router serving GraphQL at `path` (relative to where it is included, if it is)."""

    async def context_getter() -> Context:
        return Context(container)

    production = container.settings().environment == "production"
    router = LocalGraphiQLRouter(
        build_schema(production=production),
        context_getter=context_getter,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        graphql_ide=None if production else "graphiql",
        path=path,
    )
    router.console_dist = console_dist(container.settings().api.console_dir)  # GraphiQL's assets
    return router
