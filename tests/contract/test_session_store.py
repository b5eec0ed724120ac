"""Contract of `SessionStore`: rotation is compare-and-set, revocation is final, and a
session is read with its user as both are now (the read every signed-in request makes)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

from domain.identity.models import AuthSession, User
from domain.identity.ports import SessionStore, UserRepository

from .conftest import MakeUser, at


def new_session(user: User, jti: str = "jti-1", created: float = 0) -> AuthSession:
    return AuthSession(
        user_id=user.id,
        refresh_jti=jti,
        expires_at=at(created) + timedelta(days=14),
        created_at=at(created),
    )


async def test_create_then_get(session_store: SessionStore, make_user: MakeUser) -> None:
    session = new_session(await make_user("alice"))
    await session_store.create(session)

    stored = await session_store.get(session.id)
    assert stored == session
    assert stored.created_at.tzinfo is not None and stored.expires_at.tzinfo is not None
    assert await session_store.get(uuid4()) is None


async def test_get_with_user_reads_the_session_and_its_owner(
    session_store: SessionStore, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    mine, theirs = new_session(alice, "a1"), new_session(bob, "b1")
    await session_store.create(mine)
    await session_store.create(theirs)

    assert await session_store.get_with_user(mine.id) == (mine, alice)
    assert await session_store.get_with_user(theirs.id) == (theirs, bob)
    assert await session_store.get_with_user(uuid4()) is None


async def test_get_with_user_sees_a_revocation_and_a_deactivation_at_once(
    session_store: SessionStore, user_repository: UserRepository, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    session = new_session(alice)
    await session_store.create(session)
    await session_store.revoke(session.id, "logout", at(30))
    await user_repository.update(replace(alice, is_active=False, updated_at=at(40)))

    found = await session_store.get_with_user(session.id)

    assert found is not None
    stored, user = found
    assert (stored.revoked_at, stored.revoked_reason) == (at(30), "logout")
    assert not stored.is_active(at(31))
    assert (user.id, user.is_active, user.updated_at) == (alice.id, False, at(40))


async def test_get_with_user_of_a_deleted_user_is_none(
    session_store: SessionStore, user_repository: UserRepository, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    session = new_session(alice)
    await session_store.create(session)

    assert await user_repository.delete(alice.id)

    assert await session_store.get_with_user(session.id) is None


async def test_rotate_swaps_the_jti(session_store: SessionStore, make_user: MakeUser) -> None:
    session = new_session(await make_user("alice"))
    await session_store.create(session)

    assert await session_store.rotate(session.id, "jti-1", "jti-2", at(3600))

    stored = await session_store.get(session.id)
    assert stored is not None
    assert (stored.refresh_jti, stored.expires_at) == ("jti-2", at(3600))


async def test_rotate_with_a_stale_jti_fails(
    session_store: SessionStore, make_user: MakeUser
) -> None:
    session = new_session(await make_user("alice"))
    await session_store.create(session)
    assert await session_store.rotate(session.id, "jti-1", "jti-2", at(60))

    assert not await session_store.rotate(session.id, "jti-1", "jti-3", at(120))

    stored = await session_store.get(session.id)
    assert stored is not None and stored.refresh_jti == "jti-2"


async def test_rotate_of_unknown_session_fails(session_store: SessionStore) -> None:
    assert not await session_store.rotate(uuid4(), "jti-1", "jti-2", at(60))


async def test_concurrent_rotations_have_one_winner(
    session_store: SessionStore, make_user: MakeUser
) -> None:
    session = new_session(await make_user("alice"))
    await session_store.create(session)

    results = await asyncio.gather(
        *(session_store.rotate(session.id, "jti-1", f"new-{i}", at(60)) for i in range(5))
    )

    assert sorted(results) == [False] * 4 + [True]


async def test_rotate_after_revoke_fails(session_store: SessionStore, make_user: MakeUser) -> None:
    session = new_session(await make_user("alice"))
    await session_store.create(session)
    await session_store.revoke(session.id, "logout", at(30))

    assert not await session_store.rotate(session.id, "jti-1", "jti-2", at(60))

    stored = await session_store.get(session.id)
    assert stored is not None
    assert (stored.refresh_jti, stored.revoked_at, stored.revoked_reason) == (
        "jti-1",
        at(30),
        "logout",
    )


async def test_first_revocation_is_kept(session_store: SessionStore, make_user: MakeUser) -> None:
    session = new_session(await make_user("alice"))
    await session_store.create(session)

    await session_store.revoke(session.id, "logout", at(30))
    await session_store.revoke(session.id, "reuse-detected", at(90))

    stored = await session_store.get(session.id)
    assert stored is not None and (stored.revoked_at, stored.revoked_reason) == (at(30), "logout")


async def test_revoke_all_counts_only_live_sessions_of_that_user(
    session_store: SessionStore, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    mine = [new_session(alice, f"a{i}", created=i) for i in range(3)]
    theirs = new_session(bob, "b0")
    for session in [*mine, theirs]:
        await session_store.create(session)
    await session_store.revoke(mine[0].id, "logout", at(10))

    assert await session_store.revoke_all(alice.id, "password-changed", at(20)) == 2

    for session in mine[1:]:
        stored = await session_store.get(session.id)
        assert stored is not None and stored.revoked_reason == "password-changed"
    other = await session_store.get(theirs.id)
    assert other is not None and other.revoked_at is None
    assert await session_store.revoke_all(alice.id, "again", at(30)) == 0


async def test_list_active_skips_revoked_and_expired_newest_first(
    session_store: SessionStore, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    older, newer = new_session(alice, "a1", created=0), new_session(alice, "a2", created=100)
    revoked = new_session(alice, "a3", created=50)
    expired = AuthSession(user_id=alice.id, refresh_jti="a4", expires_at=at(10), created_at=at(5))
    for session in (older, newer, revoked, expired, new_session(bob, "b1")):
        await session_store.create(session)
    await session_store.revoke(revoked.id, "logout", at(60))

    active = await session_store.list_active(alice.id, now=at(200))

    assert [s.id for s in active] == [newer.id, older.id]
    assert all(s.expires_at.tzinfo is not None for s in active)
