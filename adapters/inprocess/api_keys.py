"""In-process `ApiKeyStore`: dict state that tests can inspect (behaves as the SQL adapter;
the contract suite in tests/contract runs both). It reads its users' repository for
`get_by_hash_with_user`, as the SQL one joins the users table."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from adapters.inprocess.identity import InProcessUserRepository
from domain.errors import Conflict
from domain.identity.api_keys import ApiKey
from domain.identity.models import User


class InProcessApiKeyStore:
    def __init__(self, users: InProcessUserRepository) -> None:
        self.keys: dict[UUID, ApiKey] = {}
        self._users = users
        self._lock = asyncio.Lock()

    async def add(self, key: ApiKey) -> None:
        async with self._lock:
            if key.id in self.keys or any(k.key_hash == key.key_hash for k in self.keys.values()):
                raise Conflict("That API key already exists.", details={"field": "id"})
            self.keys[key.id] = key

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self.keys.values() if k.key_hash == key_hash), None)

    async def get_by_hash_with_user(self, key_hash: str) -> tuple[ApiKey, User] | None:
        key = await self.get_by_hash(key_hash)
        user = None if key is None else await self._users.get(key.user_id)
        return None if key is None or user is None else (key, user)

    async def list_for(self, user_id: UUID) -> Sequence[ApiKey]:
        mine = [k for k in self.keys.values() if k.user_id == user_id and k.revoked_at is None]
        return sorted(mine, key=lambda k: (k.created_at, k.id), reverse=True)

    async def revoke(self, user_id: UUID, key_id: UUID, at: datetime) -> bool:
        async with self._lock:
            key = self.keys.get(key_id)
            if key is None or key.user_id != user_id or key.revoked_at is not None:
                return False
            self.keys[key_id] = replace(key, revoked_at=at)
            return True

    async def touch(self, key_id: UUID, at: datetime) -> None:
        key = self.keys.get(key_id)
        if key is not None:
            self.keys[key_id] = replace(key, last_used_at=at)
