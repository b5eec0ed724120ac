"""Sign-up, sign-in, token refresh with rotation and reuse detection, sign-out.

A sign-in creates an `AuthSession`. Its refresh token rotates on every use: the session
remembers the one valid `jti`, and an older refresh token coming back means it leaked,
so the whole session is revoked (RFC 6819 §5.2.2.3 / OAuth 2.0 Security BCP).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from uuid import UUID, uuid4

from application.api_keys import AuthenticateApiKey, is_api_key_claims
from domain.errors import AuthenticationFailed, BadRequest, Conflict, NotFound
from domain.identity.api_keys import looks_like_api_key
from domain.identity.models import (
    AuthSession,
    TokenClaims,
    TokenPair,
    User,
    check_password_policy,
    normalize_email,
    validate_username,
)
from domain.identity.ports import (
    ApiKeyStore,
    PasswordHasher,
    SessionStore,
    TokenService,
    UserRepository,
)
from domain.ports import Clock

INVALID_CREDENTIALS = "Invalid username or password."


def _new_jti() -> str:
    return secrets.token_urlsafe(16)


class RegisterUser:
    def __init__(self, users: UserRepository, hasher: PasswordHasher, clock: Clock) -> None:
        self._users = users
        self._hasher = hasher
        self._clock = clock

    async def execute(
        self, username: str, email: str, password: str, *, is_superuser: bool = False
    ) -> User:
        username = validate_username(username)
        email = normalize_email(email)
        check_password_policy(password)
        if await self._users.get_by_username(username):
            raise Conflict("Username is already taken.", details={"field": "username"})
        now = self._clock.now()
        user = User(
            username=username,
            email=email,
            password_hash=self._hasher.hash(password),
            is_superuser=is_superuser,
            created_at=now,
            updated_at=now,
        )
        await self._users.add(user)  # the store raises Conflict on a race or a taken email
        return user


class _Issuer:
    """Mints an access + refresh pair for a session."""

    def __init__(self, tokens: TokenService, clock: Clock) -> None:
        self._tokens = tokens
        self._clock = clock

    def pair(
        self, user_id: UUID, session_id: UUID, refresh_jti: str
    ) -> tuple[TokenPair, AuthSession]:
        now = self._clock.now()
        access, _ = self._tokens.issue(user_id, session_id, "access", _new_jti(), now)
        refresh, refresh_expires = self._tokens.issue(
            user_id, session_id, "refresh", refresh_jti, now
        )
        session = AuthSession(
            user_id=user_id,
            refresh_jti=refresh_jti,
            expires_at=refresh_expires,
            id=session_id,
            created_at=now,
        )
        pair = TokenPair(access, refresh, expires_in=self._tokens.access_lifetime_seconds)
        return pair, session


class Login:
    def __init__(
        self,
        users: UserRepository,
        sessions: SessionStore,
        hasher: PasswordHasher,
        tokens: TokenService,
        clock: Clock,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._issuer = _Issuer(tokens, clock)
        # Verifying against a real hash when the user does not exist keeps the response
        # time the same, so timing does not reveal which usernames exist.
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(12))

    async def execute(self, username: str, password: str) -> TokenPair:
        user = await self._users.get_by_username(username.strip().lower())
        if user is None:
            self._hasher.verify(password, self._dummy_hash)
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        if not self._hasher.verify(password, user.password_hash):
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        if not user.is_active:
            raise AuthenticationFailed("This account is deactivated.")
        pair, session = self._issuer.pair(user.id, uuid4(), _new_jti())
        await self._sessions.create(session)
        return pair


async def _signed_in(
    sessions: SessionStore, claims: TokenClaims, now: datetime
) -> tuple[AuthSession, User]:
    """The live session a token names and its active user, read together (one query; no
    cache, so a logout, a revocation or a deactivation counts on the very next request on
    every process)."""
    found = await sessions.get_with_user(claims.session_id)
    if found is None or not found[0].is_active(now):
        raise AuthenticationFailed("Session has ended; sign in again.")
    session, user = found
    if session.user_id != claims.user_id:
        raise AuthenticationFailed("Token is invalid.")
    if not user.is_active:
        raise AuthenticationFailed("This account is deactivated.")
    return session, user


class RefreshTokens:
    def __init__(self, sessions: SessionStore, tokens: TokenService, clock: Clock) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._clock = clock
        self._issuer = _Issuer(tokens, clock)

    async def execute(self, refresh_token: str) -> TokenPair:
        claims = self._tokens.verify(refresh_token, expected_type="refresh")
        now = self._clock.now()
        session, user = await _signed_in(self._sessions, claims, now)
        new_jti = _new_jti()
        pair, rotated = self._issuer.pair(user.id, session.id, new_jti)
        if not await self._sessions.rotate(session.id, claims.jti, new_jti, rotated.expires_at):
            # The presented token was already rotated away: a replay. End the session.
            await self._sessions.revoke(session.id, "refresh_token_reuse", now)
            raise AuthenticationFailed(
                "Refresh token was already used; the session has been revoked.",
                details={"reason": "refresh_token_reuse"},
            )
        return pair


class Logout:
    def __init__(self, sessions: SessionStore, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def execute(self, claims: TokenClaims) -> None:
        if is_api_key_claims(claims):
            raise BadRequest(
                "An API key has no session to end; revoke it with DELETE /api/v1/api-keys/{id}.",
                details={"reason": "api_key"},
            )
        await self._sessions.revoke(claims.session_id, "logout", self._clock.now())


class Authenticate:
    """Resolve an access token (the session must still be live) or a personal API key
    (`mai_…`, when a key store is configured) to its active user.

    Runs on every authenticated request, so it makes one database read: the session (or
    key) with its user, in one query."""

    def __init__(
        self,
        sessions: SessionStore,
        tokens: TokenService,
        clock: Clock,
        api_keys: ApiKeyStore | None = None,
    ) -> None:
        self._sessions = sessions
        self._tokens = tokens
        self._clock = clock
        self._keys = None if api_keys is None else AuthenticateApiKey(api_keys, clock)

    async def execute(self, access_token: str) -> tuple[User, TokenClaims]:
        if self._keys is not None and looks_like_api_key(access_token):
            return await self._keys.execute(access_token)
        claims = self._tokens.verify(access_token, expected_type="access")
        _, user = await _signed_in(self._sessions, claims, self._clock.now())
        return user, claims


class SetUserActive:
    def __init__(self, users: UserRepository, sessions: SessionStore, clock: Clock) -> None:
        self._users = users
        self._sessions = sessions
        self._clock = clock

    async def execute(self, user_id: UUID, active: bool) -> User:
        user = await self._users.get(user_id)
        if user is None:
            raise NotFound("User not found.")
        now = self._clock.now()
        updated = replace(user, is_active=active, updated_at=now)
        await self._users.update(updated)
        if not active:
            await self._sessions.revoke_all(user_id, "deactivated", now)
        return updated
