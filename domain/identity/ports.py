"""Ports of the identity capability, shaped by the auth use-cases.

Every authenticated request needs its credential (a session or an API key) and the user it
belongs to, both as they are now (a revocation or a deactivation must count on the very next
request, on every process). So each store reads the credential together with its owner in
one query (`get_with_user`, `get_by_hash_with_user`): one database round trip per request,
not two, and a consistent pair. The rules (live, expired, active user) stay in the use-case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.identity.api_keys import ApiKey
from domain.identity.models import AuthSession, TokenClaims, User


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Store a new user; `Conflict` if the username or email is taken."""

    async def get(self, user_id: UUID) -> User | None: ...

    async def get_by_username(self, username: str) -> User | None: ...

    async def update(self, user: User) -> None:
        """`NotFound` for an unknown user, `Conflict` for a taken username or email."""

    async def count(self) -> int: ...

    async def delete(self, user_id: UUID) -> bool:
        """Remove the user and (by cascade) all they own; False if there was none. Used
        for the throwaway users of evaluation runs; people are deactivated instead."""


class SessionStore(Protocol):
    async def create(self, session: AuthSession) -> None: ...

    async def get(self, session_id: UUID) -> AuthSession | None: ...

    async def get_with_user(self, session_id: UUID) -> tuple[AuthSession, User] | None:
        """The session (revoked or expired ones too) and the user it belongs to, read in one
        query; None when there is no such session (or no longer its user)."""

    async def rotate(
        self, session_id: UUID, expected_jti: str, new_jti: str, expires_at: datetime
    ) -> bool:
        """Swap the refresh jti only if it is still `expected_jti` and the session is not
        revoked (atomic compare-and-set). Expiry is the use-case's check."""

    async def revoke(self, session_id: UUID, reason: str, at: datetime) -> None:
        """Idempotent: the first revocation's time and reason are kept."""

    async def revoke_all(self, user_id: UUID, reason: str, at: datetime) -> int:
        """Revoke every live session of the user; returns how many were live."""

    async def list_active(self, user_id: UUID, now: datetime) -> Sequence[AuthSession]: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, password_hash: str) -> bool: ...


class TokenService(Protocol):
    def issue(
        self, user_id: UUID, session_id: UUID, token_type: str, jti: str, now: datetime
    ) -> tuple[str, datetime]:
        """A signed token and when it expires."""

    def verify(self, token: str, expected_type: str) -> TokenClaims:
        """The claims of a valid token; `AuthenticationFailed` otherwise."""

    @property
    def access_lifetime_seconds(self) -> int: ...


class ApiKeyStore(Protocol):
    """Personal API keys, found by the hash of the key a request presents."""

    async def add(self, key: ApiKey) -> None: ...

    async def get_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not (the use-case decides)."""

    async def get_by_hash_with_user(self, key_hash: str) -> tuple[ApiKey, User] | None:
        """The key with this hash (revoked or not) and its owner, read in one query."""

    async def list_for(self, user_id: UUID) -> Sequence[ApiKey]:
        """The user's unrevoked keys (expired ones included), newest first."""

    async def revoke(self, user_id: UUID, key_id: UUID, at: datetime) -> bool:
        """Revoke the user's key; False when it is not theirs, unknown or already revoked."""

    async def touch(self, key_id: UUID, at: datetime) -> None:
        """Record a use of the key."""
