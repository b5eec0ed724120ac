"""In-process `UserRepository` and `SessionStore`: dict state that tests can inspect.

They behave like the SQL adapters (the contract suite in tests/contract runs both): unique
username and email raise `Conflict`, rotation is compare-and-set. Stored and returned objects
are copies, as a database would give, so a caller mutating a `User` changes nothing until it
calls `update`.

The session store reads its users' repository for `get_with_user`, as the SQL one joins the
users table: the fakes of one container share their state as tables share a database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.errors import Conflict, NotFound
from domain.identity.models import AuthSession, User


class InProcessUserRepository:
    def __init__(self) -> None:
        self.users: dict[UUID, User] = {}
        self._lock = asyncio.Lock()

    def _check_unique(self, user: User) -> None:
        for other in self.users.values():
            if other.id == user.id:
                continue
            for field in ("username", "email"):
                if getattr(other, field) == getattr(user, field):
                    raise Conflict(f"That {field} is already taken.", details={"field": field})

    async def add(self, user: User) -> None:
        async with self._lock:
            if user.id in self.users:
                raise Conflict("That user already exists.", details={"field": "id"})
            self._check_unique(user)
            self.users[user.id] = replace(user)

    async def get(self, user_id: UUID) -> User | None:
        user = self.users.get(user_id)
        return None if user is None else replace(user)

    async def get_by_username(self, username: str) -> User | None:
        for user in self.users.values():
            if user.username == username:
                return replace(user)
        return None

    async def update(self, user: User) -> None:
        async with self._lock:
            current = self.users.get(user.id)
            if current is None:
                raise NotFound("User not found.", details={"id": str(user.id)})
            self._check_unique(user)
            self.users[user.id] = replace(user, created_at=current.created_at)

    async def delete(self, user_id: UUID) -> bool:
        async with self._lock:
            return self.users.pop(user_id, None) is not None

    async def count(self) -> int:
        return len(self.users)


class InProcessSessionStore:
    """`AuthSession` is frozen, so sessions are stored as they are and swapped on change."""

    def __init__(self, users: InProcessUserRepository) -> None:
        self.sessions: dict[UUID, AuthSession] = {}
        self._users = users
        self._lock = asyncio.Lock()

    async def create(self, session: AuthSession) -> None:
        async with self._lock:
            if session.id in self.sessions:
                raise Conflict("That session already exists.", details={"field": "id"})
            self.sessions[session.id] = session

    async def get(self, session_id: UUID) -> AuthSession | None:
        return self.sessions.get(session_id)

    async def get_with_user(self, session_id: UUID) -> tuple[AuthSession, User] | None:
        session = self.sessions.get(session_id)
        user = None if session is None else await self._users.get(session.user_id)
        return None if session is None or user is None else (session, user)

    async def rotate(
        self, session_id: UUID, expected_jti: str, new_jti: str, expires_at: datetime
    ) -> bool:
        async with self._lock:
            session = self.sessions.get(session_id)
            if session is None or session.revoked_at is not None:
                return False
            if session.refresh_jti != expected_jti:
                return False
            self.sessions[session_id] = replace(session, refresh_jti=new_jti, expires_at=expires_at)
            return True

    async def revoke(self, session_id: UUID, reason: str, at: datetime) -> None:
        async with self._lock:
            session = self.sessions.get(session_id)
            if session is not None and session.revoked_at is None:
                self.sessions[session_id] = replace(session, revoked_at=at, revoked_reason=reason)

    async def revoke_all(self, user_id: UUID, reason: str, at: datetime) -> int:
        async with self._lock:
            revoked = 0
            for session in list(self.sessions.values()):
                if session.user_id == user_id and session.revoked_at is None:
                    self.sessions[session.id] = replace(
                        session, revoked_at=at, revoked_reason=reason
                    )
                    revoked += 1
            return revoked

    async def list_active(self, user_id: UUID, now: datetime) -> Sequence[AuthSession]:
        active = [
            s
            for s in self.sessions.values()
            if s.user_id == user_id and s.revoked_at is None and s.expires_at > now
        ]
        return sorted(active, key=lambda s: (s.created_at, s.id), reverse=True)
