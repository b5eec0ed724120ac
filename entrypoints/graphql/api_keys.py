"""Personal API keys over GraphQL: the `apiKeys` query, `createApiKey` (the key is in its
answer only) and `revokeApiKey`, the same use-cases as REST `/api-keys`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from entrypoints.graphql.context import Context
from entrypoints.graphql.types import parse_id


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@strawberry.type(name="ApiKey")
class ApiKeyType:
    id: strawberry.ID
    name: str
    prefix: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    expired: bool

    @classmethod
    def of(cls, public: dict[str, Any]) -> ApiKeyType:
        return cls(
            id=strawberry.ID(str(public["id"])),
            name=public["name"],
            prefix=public["prefix"],
            created_at=public["created_at"].isoformat(),
            expires_at=_iso(public["expires_at"]),
            last_used_at=_iso(public["last_used_at"]),
            expired=public["expired"],
        )


@strawberry.type(name="NewApiKey")
class NewApiKeyType:
    api_key: ApiKeyType
    key: str = strawberry.field(description="The key itself: shown once, store it now.")


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(description="Your personal API keys (never the keys themselves).")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKeyType]:
        user = await info.context.require_user()
        container = info.context.container
        now = container.clock().now()
        keys = await container.list_api_keys().execute(user.id)
        return [ApiKeyType.of(k.to_public(now)) for k in keys]


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(description="Make a personal API key (needs a session, not a key).")
    async def create_api_key(
        self, info: Info[Context, None], name: str, expires_in_days: int | None = None
    ) -> NewApiKeyType:
        user = await info.context.require_user()
        container = info.context.container
        made = await container.create_api_key().execute(
            user.id, name, expires_in_days, claims=info.context.claims
        )
        return NewApiKeyType(
            api_key=ApiKeyType.of(made.key.to_public(container.clock().now())), key=made.secret
        )

    @strawberry.mutation(description="Revoke one of your API keys: it stops at once.")
    async def revoke_api_key(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        await info.context.container.revoke_api_key().execute(user.id, parse_id(id, "id"))
        return True
