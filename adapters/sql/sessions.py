"""`SessionStore` on SQL: sign-in sessions and their rotating refresh tokens.

Rotation is a single conditional UPDATE, so two concurrent refreshes with the same token
cannot both win: the database decides, and exactly one sees `rowcount == 1`.

`get_with_user` is the read every request signed in with an access token makes: the session
joined to its user by primary keys, one SELECT on a light read path (`Prepared`; through
SQLAlchemy and aiosqlite an ORM transaction is six hand-offs to the driver's thread; two
reads cost twice that).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, insert, select, update

from adapters.sql.database import Database
from adapters.sql.statements import Prepared
from adapters.sql.tables import auth_sessions, users
from adapters.sql.users import row_to_user
from domain.identity.models import AuthSession, User

#: The session (`:session_id`) with its user, columns labelled `auth_sessions_…` and
#: `users_…`; built once (no expression and cache key to build on every request).
_SESSION_WITH_USER = (
    select(auth_sessions, users)
    .join(users, users.c.id == auth_sessions.c.user_id)
    .where(auth_sessions.c.id == bindparam("session_id"))
    .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
)


def _row_to_session(row: Mapping[Any, Any], prefix: str = "") -> AuthSession:
    return AuthSession(
        id=row[f"{prefix}id"],
        user_id=row[f"{prefix}user_id"],
        refresh_jti=row[f"{prefix}refresh_jti"],
        expires_at=row[f"{prefix}expires_at"],
        created_at=row[f"{prefix}created_at"],
        revoked_at=row[f"{prefix}revoked_at"],
        revoked_reason=row[f"{prefix}revoked_reason"],
    )


class SqlSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._with_user = Prepared(_SESSION_WITH_USER, db)  # every request reads it

    async def create(self, session: AuthSession) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                insert(auth_sessions).values(
                    id=session.id,
                    user_id=session.user_id,
                    refresh_jti=session.refresh_jti,
                    expires_at=session.expires_at,
                    created_at=session.created_at,
                    revoked_at=session.revoked_at,
                    revoked_reason=session.revoked_reason,
                )
            )

    async def get(self, session_id: UUID) -> AuthSession | None:
        async with self._db.transaction() as tx:
            result = await tx.execute(select(auth_sessions).where(auth_sessions.c.id == session_id))
            row = result.mappings().first()
        return None if row is None else _row_to_session(row)

    async def get_with_user(self, session_id: UUID) -> tuple[AuthSession, User] | None:
        row = await self._with_user.first({"session_id": session_id})
        if row is None:
            return None
        return _row_to_session(row, "auth_sessions_"), row_to_user(row, "users_")

    async def rotate(
        self, session_id: UUID, expected_jti: str, new_jti: str, expires_at: datetime
    ) -> bool:
        async with self._db.transaction() as tx:
            result = await tx.execute(
                update(auth_sessions)
                .where(
                    auth_sessions.c.id == session_id,
                    auth_sessions.c.refresh_jti == expected_jti,
                    auth_sessions.c.revoked_at.is_(None),
                )
                .values(refresh_jti=new_jti, expires_at=expires_at)
            )
        return bool(result.rowcount == 1)

    async def revoke(self, session_id: UUID, reason: str, at: datetime) -> None:
        """Revoke one session; the first revocation's time and reason are kept."""
        async with self._db.transaction() as tx:
            await tx.execute(
                update(auth_sessions)
                .where(auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None))
                .values(revoked_at=at, revoked_reason=reason)
            )

    async def revoke_all(self, user_id: UUID, reason: str, at: datetime) -> int:
        """Revoke every unrevoked session of the user; how many were revoked now."""
        async with self._db.transaction() as tx:
            result = await tx.execute(
                update(auth_sessions)
                .where(auth_sessions.c.user_id == user_id, auth_sessions.c.revoked_at.is_(None))
                .values(revoked_at=at, revoked_reason=reason)
            )
        return int(result.rowcount)

    async def list_active(self, user_id: UUID, now: datetime) -> Sequence[AuthSession]:
        """Unrevoked, unexpired sessions, newest first."""
        async with self._db.transaction() as tx:
            result = await tx.execute(
                select(auth_sessions)
                .where(
                    auth_sessions.c.user_id == user_id,
                    auth_sessions.c.revoked_at.is_(None),
                    auth_sessions.c.expires_at > now,
                )
                .order_by(auth_sessions.c.created_at.desc(), auth_sessions.c.id.desc())
            )
            return [_row_to_session(row) for row in result.mappings()]
