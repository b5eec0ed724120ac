"""`ApiKeyStore` on SQL (PostgreSQL and SQLite): personal API keys, found by their hash.

`key_hash` has a unique index: the lookup every key-authenticated request makes is one
indexed equality, joined to the key's owner by primary key (`get_by_hash_with_user`: one
SELECT gives the use-case both). Revocation is a conditional UPDATE scoped to the owner, so
another user's key id changes nothing and says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from adapters.sql.database import Database
from adapters.sql.statements import Prepared
from adapters.sql.tables import api_keys, users
from adapters.sql.users import row_to_user
from domain.errors import Conflict
from domain.identity.api_keys import ApiKey
from domain.identity.models import User

#: The key (`:key_hash`) with its owner, columns labelled `api_keys_…` and `users_…`;
#: built once (no expression and cache key to build on every request).
_KEY_WITH_USER = (
    select(api_keys, users)
    .join(users, users.c.id == api_keys.c.user_id)
    .where(api_keys.c.key_hash == bindparam("key_hash"))
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
)


def _row_to_key(row: Mapping[Any, Any], prefix: str = "") -> ApiKey:
    return ApiKey(
        id=row[f"{prefix}id"],
        user_id=row[f"{prefix}user_id"],
        name=row[f"{prefix}name"],
        prefix=row[f"{prefix}prefix"],
        key_hash=row[f"{prefix}key_hash"],
        created_at=row[f"{prefix}created_at"],
        expires_at=row[f"{prefix}expires_at"],
        last_used_at=row[f"{prefix}last_used_at"],
        revoked_at=row[f"{prefix}revoked_at"],
    )


class SqlApiKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._with_user = Prepared(_KEY_WITH_USER, db)  # every request reads it

    async def add(self, key: ApiKey) -> None:
        try:
            async with self._db.transaction() as tx:
                await tx.execute(
                    insert(api_keys).values(
                        id=key.id,
                        user_id=key.user_id,
                        name=key.name,
                        prefix=key.prefix,
                        key_hash=key.key_hash,
                        created_at=key.created_at,
                        expires_at=key.expires_at,
                        last_used_at=key.last_used_at,
                        revoked_at=key.revoked_at,
                    )
                )
        except IntegrityError as exc:
            raise Conflict("That API key already exists.", details={"field": "id"}) from exc

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        async with self._db.transaction() as tx:
            result = await tx.execute(select(api_keys).where(api_keys.c.key_hash == key_hash))
            row = result.mappings().first()
        return None if row is None else _row_to_key(row)

    async def get_by_hash_with_user(self, key_hash: str) -> tuple[ApiKey, User] | None:
        row = await self._with_user.first({"key_hash": key_hash})
        if row is None:
            return None
        return _row_to_key(row, "api_keys_"), row_to_user(row, "users_")

    async def list_for(self, user_id: UUID) -> Sequence[ApiKey]:
        async with self._db.transaction() as tx:
            result = await tx.execute(
                select(api_keys)
                .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
                .order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc())
            )
            return [_row_to_key(row) for row in result.mappings()]

    async def revoke(self, user_id: UUID, key_id: UUID, at: datetime) -> bool:
        async with self._db.transaction() as tx:
            result = await tx.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    api_keys.c.user_id == user_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=at)
            )
        return bool(result.rowcount == 1)

    async def touch(self, key_id: UUID, at: datetime) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at)
            )
