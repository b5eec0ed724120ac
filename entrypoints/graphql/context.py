"""Per-request GraphQL context: the container, the caller, and DataLoaders."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from container import Container
from domain.conversations.models import Message
from domain.errors import AuthenticationFailed
from domain.identity.models import TokenClaims, User
from entrypoints.log_fields import bind_user

MESSAGES_PER_CONVERSATION = 100


class Context(BaseContext):
    def __init__(self, container: Container) -> None:
        super().__init__()
        self.container = container
        self._user: User | None = None
        self.claims: TokenClaims | None = None  # how the caller signed in (token or API key)
        self._messages_loader: DataLoader[UUID, list[Message]] | None = None

    def _bearer(self) -> str | None:
        raw: Any = None
        if self.connection_params:  # graphql-transport-ws connection_init payload
            params = self.connection_params
            raw = params.get("Authorization") or params.get("authorization")
        elif self.request is not None:
            raw = self.request.headers.get("authorization")
        if not isinstance(raw, str):
            return None
        scheme, _, token = raw.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    async def require_user(self) -> User:
        """The authenticated caller (resolved once per request)."""
        if self._user is None:
            token = self._bearer()
            if token is None:
                raise AuthenticationFailed(
                    "Missing bearer token.", details={"reason": "missing_token"}
                )
            self._user, self.claims = await self.container.authenticate().execute(token)
            bind_user(self._user.id)
        return self._user

    async def require_chat_user(self) -> User:
        """The caller, counted against the chat limits (per user and per address)."""
        user = await self.require_user()
        request = self.request
        ip = request.client.host if request is not None and request.client else "unknown"
        await self.container.api_limits().chat(ip, user.id)
        return user

    @property
    def messages_loader(self) -> DataLoader[UUID, list[Message]]:
        """Batches `conversation { messages }` across a page into one query."""
        if self._messages_loader is None:
            store = self.container.conversation_store()

            async def load(ids: list[UUID]) -> list[list[Message]]:
                user = await self.require_user()
                found = await store.messages_for(user.id, ids, MESSAGES_PER_CONVERSATION)
                return [found.get(i, []) for i in ids]

            self._messages_loader = DataLoader(load_fn=load)
        return self._messages_loader
