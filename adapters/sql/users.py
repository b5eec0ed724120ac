"""`UserRepository` on SQL: the accounts table, with uniqueness enforced by the database.

Uniqueness is left to the unique indexes rather than checked first: a check-then-insert
races under concurrent registration, the index does not. Its violation becomes `Conflict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import delete as sa_delete
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from adapters.sql.database import Database
from adapters.sql.tables import users
from domain.errors import Conflict, NotFound
from domain.identity.models import User


def row_to_user(row: Mapping[Any, Any], prefix: str = "") -> User:
    """`prefix`: how a joined select labels the users table's columns (`users_`)."""
    return User(
        id=row[f"{prefix}id"],
        username=row[f"{prefix}username"],
        email=row[f"{prefix}email"],
        password_hash=row[f"{prefix}password_hash"],
        is_active=row[f"{prefix}is_active"],
        is_superuser=row[f"{prefix}is_superuser"],
        created_at=row[f"{prefix}created_at"],
        updated_at=row[f"{prefix}updated_at"],
    )


def _values(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "password_hash": user.password_hash,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def conflict_from(exc: IntegrityError) -> Conflict:
    """Name the taken field from the violated index (PostgreSQL) or column (SQLite)."""
    text = str(exc.orig)
    for field in ("username", "email"):
        if f"uq_users_{field}" in text or f"users.{field}" in text:
            return Conflict(f"That {field} is already taken.", details={"field": field})
    return Conflict("That user already exists.", details={"field": "id"})


class SqlUserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user: User) -> None:
        try:
            async with self._db.transaction() as session:
                await session.execute(insert(users).values(_values(user)))
        except IntegrityError as exc:
            raise conflict_from(exc) from None

    async def get(self, user_id: UUID) -> User | None:
        async with self._db.transaction() as session:
            result = await session.execute(select(users).where(users.c.id == user_id))
            found = result.mappings().first()
        return None if found is None else row_to_user(found)

    async def get_by_username(self, username: str) -> User | None:
        async with self._db.transaction() as session:
            result = await session.execute(select(users).where(users.c.username == username))
            found = result.mappings().first()
        return None if found is None else row_to_user(found)

    async def update(self, user: User) -> None:
        """Overwrite the stored user; `NotFound` if absent, `Conflict` on a taken name."""
        values = _values(user)
        del values["id"], values["created_at"]
        try:
            async with self._db.transaction() as session:
                result = await session.execute(
                    update(users).where(users.c.id == user.id).values(values)
                )
        except IntegrityError as exc:
            raise conflict_from(exc) from None
        if result.rowcount != 1:
            raise NotFound("User not found.", details={"id": str(user.id)})

    async def count(self) -> int:
        async with self._db.transaction() as session:
            result = await session.execute(select(func.count()).select_from(users))
            return int(result.scalar_one())

    async def delete(self, user_id: UUID) -> bool:
        async with self._db.transaction() as session:
            result = await session.execute(sa_delete(users).where(users.c.id == user_id))
        return bool(result.rowcount)
