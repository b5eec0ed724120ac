"""Personal API keys: create (the key is shown once), list, revoke; and signing in with one.

Failure behaviour: a key that is unknown, revoked or expired, or whose user is deactivated,
is `AuthenticationFailed` (401) on the request that presents it, on every server process,
because every request reads the key with its user (one query; no cache to go stale).
Recording the key's last use is best effort: a failed write never fails the request that
used the key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import structlog

from domain.errors import AuthenticationFailed, NotFound, PermissionDenied
from domain.identity.api_keys import (
    KEY_PREFIX,
    PREFIX_LENGTH,
    ApiKey,
    expiry,
    hash_api_key,
    validate_key_name,
)
from domain.identity.models import TokenClaims, User
from domain.identity.ports import ApiKeyStore
from domain.ports import Clock

log = structlog.get_logger("mai.api_keys")
API_KEY_TOKEN_TYPE = "api_key"
NEVER = datetime.max.replace(tzinfo=UTC)
MAX_KEYS_PER_USER = 100


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: ApiKey
    secret: str  # the key itself: shown to its owner once, never stored

    def to_public(self, now: datetime) -> dict[str, Any]:
        return {**self.key.to_public(now), "key": self.secret}


def is_api_key_claims(claims: TokenClaims) -> bool:
    return claims.token_type == API_KEY_TOKEN_TYPE


class CreateApiKey:
    def __init__(self, keys: ApiKeyStore, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock

    async def execute(
        self,
        user_id: UUID,
        name: str,
        expires_in_days: int | None = None,
        *,
        claims: TokenClaims | None = None,
    ) -> NewApiKey:
        """`claims`: how the caller signed in; a key cannot make keys (a leaked key must not
        be able to outlive its revocation through keys it made)."""
        if claims is not None and is_api_key_claims(claims):
            raise PermissionDenied(
                "API keys are created from a signed-in session, not with another API key."
            )
        name = validate_key_name(name)
        now = self._clock.now()
        expires_at = expiry(now, expires_in_days)
        if len(await self._keys.list_for(user_id)) >= MAX_KEYS_PER_USER:
            raise PermissionDenied(
                f"A user may hold at most {MAX_KEYS_PER_USER} API keys; revoke one first.",
                details={"limit": MAX_KEYS_PER_USER},
            )
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            user_id=user_id,
            name=name,
            prefix=secret[:PREFIX_LENGTH],
            key_hash=hash_api_key(secret),
            created_at=now,
            expires_at=expires_at,
        )
        await self._keys.add(key)
        log.info("api_key_created", key_id=str(key.id), prefix=key.prefix)
        return NewApiKey(key, secret)


class ListApiKeys:
    def __init__(self, keys: ApiKeyStore) -> None:
        self._keys = keys

    async def execute(self, user_id: UUID) -> list[ApiKey]:
        return list(await self._keys.list_for(user_id))


class RevokeApiKey:
    def __init__(self, keys: ApiKeyStore, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock

    async def execute(self, user_id: UUID, key_id: UUID) -> None:
        """Another user's key id answers exactly as an unknown one: NotFound."""
        if not await self._keys.revoke(user_id, key_id, self._clock.now()):
            raise NotFound("API key not found.", details={"id": str(key_id)})
        log.info("api_key_revoked", key_id=str(key_id))


class AuthenticateApiKey:
    """Resolve a presented API key to its active user: one read (the key with its owner)."""

    def __init__(self, keys: ApiKeyStore, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock

    async def execute(self, secret: str) -> tuple[User, TokenClaims]:
        found = await self._keys.get_by_hash_with_user(hash_api_key(secret))
        now = self._clock.now()
        if found is None or found[0].revoked_at is not None:
            raise AuthenticationFailed("API key is invalid or revoked.")
        key, user = found
        if key.is_expired(now):
            raise AuthenticationFailed("API key has expired.", details={"reason": "expired"})
        if not user.is_active:
            raise AuthenticationFailed("This account is deactivated.")
        if key.needs_touch(now):
            try:
                await self._keys.touch(key.id, now)
            except Exception as exc:  # best effort: the key is valid, the request goes on
                log.warning("api_key_touch_failed", error_type=type(exc).__name__)
        claims = TokenClaims(
            user_id=user.id,
            session_id=key.id,
            jti=key.prefix,
            token_type=API_KEY_TOKEN_TYPE,
            expires_at=key.expires_at or NEVER,
        )
        return user, claims
