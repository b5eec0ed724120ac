"""Contract of `ApiKeyStore`: found by hash (alone, or with its owner in one read), listed per
owner, revoked only by its owner."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import Conflict
from domain.identity.api_keys import ApiKey, hash_api_key
from domain.identity.models import User
from domain.identity.ports import ApiKeyStore, UserRepository

from .conftest import SQL_ONLY, MakeUser, at


def new_key(user: User, secret: str, created: float = 0, **extra: object) -> ApiKey:
    return ApiKey(
        user_id=user.id,
        name=f"key {secret}",
        prefix=secret[:12],
        key_hash=hash_api_key(secret),
        created_at=at(created),
        **extra,  # type: ignore[arg-type]
    )


async def test_add_then_find_by_hash(api_key_store: ApiKeyStore, make_user: MakeUser) -> None:
    key = new_key(await make_user("alice"), "mai_one", expires_at=at(0) + timedelta(days=30))
    await api_key_store.add(key)

    found = await api_key_store.get_by_hash(hash_api_key("mai_one"))
    assert found == key
    assert found.created_at.tzinfo is not None and found.expires_at is not None
    assert found.expires_at.tzinfo is not None
    assert await api_key_store.get_by_hash(hash_api_key("mai_other")) is None


async def test_find_by_hash_with_its_owner(api_key_store: ApiKeyStore, make_user: MakeUser) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    mine, theirs = new_key(alice, "mai_a"), new_key(bob, "mai_b")
    await api_key_store.add(mine)
    await api_key_store.add(theirs)

    assert await api_key_store.get_by_hash_with_user(hash_api_key("mai_a")) == (mine, alice)
    assert await api_key_store.get_by_hash_with_user(hash_api_key("mai_b")) == (theirs, bob)
    assert await api_key_store.get_by_hash_with_user(hash_api_key("mai_other")) is None


async def test_with_its_owner_sees_a_revocation_and_a_deactivation_at_once(
    api_key_store: ApiKeyStore, user_repository: UserRepository, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    key = new_key(alice, "mai_r")
    await api_key_store.add(key)
    assert await api_key_store.revoke(alice.id, key.id, at(5))
    await user_repository.update(replace(alice, is_active=False, updated_at=at(6)))

    found = await api_key_store.get_by_hash_with_user(key.key_hash)

    assert found is not None
    stored, user = found
    assert stored.revoked_at == at(5) and not stored.is_active(at(7))
    assert (user.id, user.is_active, user.updated_at) == (alice.id, False, at(6))


async def test_with_its_owner_of_a_deleted_user_is_none(
    api_key_store: ApiKeyStore, user_repository: UserRepository, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    key = new_key(alice, "mai_d")
    await api_key_store.add(key)

    assert await user_repository.delete(alice.id)

    assert await api_key_store.get_by_hash_with_user(key.key_hash) is None


async def test_a_hash_is_unique(api_key_store: ApiKeyStore, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    await api_key_store.add(new_key(alice, "mai_same"))
    with pytest.raises(Conflict):
        await api_key_store.add(new_key(alice, "mai_same"))


async def test_lists_the_owners_unrevoked_keys_newest_first(
    api_key_store: ApiKeyStore, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    old, new, gone = (new_key(alice, f"mai_{n}", created=i) for i, n in enumerate("abc"))
    for key in (old, new, gone, new_key(bob, "mai_bob")):
        await api_key_store.add(key)
    assert await api_key_store.revoke(alice.id, gone.id, at(10))

    assert [k.id for k in await api_key_store.list_for(alice.id)] == [new.id, old.id]
    assert [k.name for k in await api_key_store.list_for(bob.id)] == ["key mai_bob"]


async def test_revoke_is_owner_only_and_final(
    api_key_store: ApiKeyStore, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    key = new_key(alice, "mai_k")
    await api_key_store.add(key)

    assert not await api_key_store.revoke(bob.id, key.id, at(5))  # not bob's
    assert not await api_key_store.revoke(alice.id, uuid4(), at(5))
    assert await api_key_store.revoke(alice.id, key.id, at(5))
    assert not await api_key_store.revoke(alice.id, key.id, at(9))  # already revoked

    found = await api_key_store.get_by_hash(key.key_hash)
    assert found is not None and found.revoked_at == at(5)  # the first revocation's time


async def test_touch_records_the_last_use(api_key_store: ApiKeyStore, make_user: MakeUser) -> None:
    key = new_key(await make_user("alice"), "mai_t")
    await api_key_store.add(key)
    await api_key_store.touch(key.id, at(60))
    found = await api_key_store.get_by_hash(key.key_hash)
    assert found is not None and found.last_used_at == at(60)
    await api_key_store.touch(uuid4(), at(61))  # unknown: nothing happens


@SQL_ONLY
async def test_keys_go_with_their_user(
    api_key_store: ApiKeyStore, make_user: MakeUser, clean_database: object
) -> None:
    from sqlalchemy import delete

    from adapters.sql.database import Database
    from adapters.sql.tables import users

    alice = await make_user("alice")
    key = new_key(alice, "mai_c")
    await api_key_store.add(key)
    assert isinstance(clean_database, Database)
    async with clean_database.transaction() as tx:
        await tx.execute(delete(users).where(users.c.id == alice.id))
    assert await api_key_store.get_by_hash(key.key_hash) is None
