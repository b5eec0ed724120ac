"""`Authenticate` (and the API-key path it delegates to) on the in-memory fakes: each reason a
credential stops working is a 401 on the next request, from the one read it makes (the
credential with its user)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from adapters.inprocess.api_keys import InProcessApiKeyStore
from adapters.inprocess.identity import InProcessSessionStore, InProcessUserRepository
from adapters.security.tokens import JWTTokenService
from application.api_keys import CreateApiKey, RevokeApiKey
from application.auth import Authenticate, RefreshTokens
from domain.errors import AuthenticationFailed
from domain.identity.models import AuthSession, User
from tests.fakes.clock import FakeClock

SECRET = "unit-test-secret-key-that-is-long-enough-0123456789"


class Identity:
    """The fakes one container would hold, a user with a live session, and its tokens."""

    def __init__(self) -> None:
        self.clock = FakeClock()  # now: the JWTs' own expiry is checked against real time
        self.users = InProcessUserRepository()
        self.sessions = InProcessSessionStore(self.users)
        self.keys = InProcessApiKeyStore(self.users)
        self.tokens = JWTTokenService(SECRET)
        self.authenticate = Authenticate(self.sessions, self.tokens, self.clock, self.keys)
        self.user = User(username="ada", email="ada@example.com", password_hash="x")

    async def sign_in(self, lifetime: timedelta = timedelta(days=1)) -> tuple[AuthSession, str]:
        if await self.users.get(self.user.id) is None:
            await self.users.add(self.user)
        session = AuthSession(self.user.id, "r1", expires_at=self.clock.at + lifetime)
        await self.sessions.create(session)
        token, _ = self.tokens.issue(self.user.id, session.id, "access", "a1", self.clock.at)
        return session, token

    async def deactivate(self) -> None:
        """Deactivated in the store only (sessions left live): the user check must hold."""
        await self.users.update(replace(self.user, is_active=False))

    async def refuses(self, credential: str) -> AuthenticationFailed:
        with pytest.raises(AuthenticationFailed) as caught:
            await self.authenticate.execute(credential)
        return caught.value


@pytest.fixture
def identity() -> Identity:
    return Identity()


async def test_a_live_session_resolves_to_its_user(identity: Identity) -> None:
    session, token = await identity.sign_in()

    user, claims = await identity.authenticate.execute(token)

    assert (user.id, claims.session_id, claims.token_type) == (
        identity.user.id,
        session.id,
        "access",
    )


async def test_a_logged_out_session_is_refused(identity: Identity) -> None:
    session, token = await identity.sign_in()
    await identity.sessions.revoke(session.id, "logout", identity.clock.now())

    assert "Session has ended" in (await identity.refuses(token)).message


async def test_an_expired_session_is_refused(identity: Identity) -> None:
    _, token = await identity.sign_in(lifetime=timedelta(minutes=1))
    identity.clock.at += timedelta(minutes=1)

    assert "Session has ended" in (await identity.refuses(token)).message


async def test_a_deactivated_user_is_refused(identity: Identity) -> None:
    _, token = await identity.sign_in()
    await identity.deactivate()

    assert "deactivated" in (await identity.refuses(token)).message


async def test_a_token_naming_another_users_session_is_refused(identity: Identity) -> None:
    session, _ = await identity.sign_in()
    forged, _ = identity.tokens.issue(uuid4(), session.id, "access", "a2", identity.clock.at)

    assert "invalid" in (await identity.refuses(forged)).message


async def test_an_unknown_session_and_a_refresh_token_are_refused(identity: Identity) -> None:
    await identity.sign_in()
    unknown, _ = identity.tokens.issue(identity.user.id, uuid4(), "access", "a3", identity.clock.at)
    await identity.refuses(unknown)
    refresh, _ = identity.tokens.issue(
        identity.user.id, uuid4(), "refresh", "r9", identity.clock.at
    )
    await identity.refuses(refresh)


async def test_refresh_needs_a_live_session_and_an_active_user(identity: Identity) -> None:
    session, _ = await identity.sign_in()
    refresh = RefreshTokens(identity.sessions, identity.tokens, identity.clock)
    token, _ = identity.tokens.issue(
        identity.user.id, session.id, "refresh", "r1", identity.clock.at
    )

    pair = await refresh.execute(token)
    assert (await identity.authenticate.execute(pair.access_token))[0].id == identity.user.id

    await identity.deactivate()
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        await refresh.execute(pair.refresh_token)


async def test_an_api_key_works_until_revoked_and_records_its_use(identity: Identity) -> None:
    await identity.users.add(identity.user)
    made = await CreateApiKey(identity.keys, identity.clock).execute(identity.user.id, "script")

    user, claims = await identity.authenticate.execute(made.secret)

    assert (user.id, claims.token_type, claims.session_id) == (
        identity.user.id,
        "api_key",
        made.key.id,
    )
    assert identity.keys.keys[made.key.id].last_used_at == identity.clock.at
    await RevokeApiKey(identity.keys, identity.clock).execute(identity.user.id, made.key.id)
    assert "revoked" in (await identity.refuses(made.secret)).message


async def test_an_expired_key_and_a_deactivated_owners_key_are_refused(
    identity: Identity,
) -> None:
    await identity.users.add(identity.user)
    create = CreateApiKey(identity.keys, identity.clock)
    expiring = await create.execute(identity.user.id, "one day", expires_in_days=1)
    lasting = await create.execute(identity.user.id, "lasting")

    identity.clock.at += timedelta(days=1)
    refused = await identity.refuses(expiring.secret)
    assert refused.details == {"reason": "expired"}

    await identity.deactivate()
    assert "deactivated" in (await identity.refuses(lasting.secret)).message
