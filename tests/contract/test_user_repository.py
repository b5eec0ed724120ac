"""Contract of `UserRepository`: every backend stores, finds and guards users alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from uuid import uuid4

import pytest

from domain.errors import Conflict, NotFound
from domain.identity.models import User
from domain.identity.ports import UserRepository

from .conftest import at


def new_user(username: str = "alice", email: str | None = None) -> User:
    return User(
        username=username,
        email=email or f"{username}@example.com",
        password_hash="$2b$12$hash",
        created_at=at(0),
        updated_at=at(0),
    )


async def test_add_then_get_and_get_by_username(user_repository: UserRepository) -> None:
    user = new_user()
    await user_repository.add(user)

    assert await user_repository.get(user.id) == user
    assert await user_repository.get_by_username("alice") == user
    assert await user_repository.count() == 1


async def test_unknown_user_is_none(user_repository: UserRepository) -> None:
    assert await user_repository.get(uuid4()) is None
    assert await user_repository.get_by_username("nobody") is None
    assert await user_repository.count() == 0


async def test_duplicate_username_conflicts(user_repository: UserRepository) -> None:
    await user_repository.add(new_user("alice", "alice@example.com"))

    with pytest.raises(Conflict) as caught:
        await user_repository.add(new_user("alice", "other@example.com"))

    assert caught.value.details == {"field": "username"}
    assert await user_repository.count() == 1


async def test_duplicate_email_conflicts(user_repository: UserRepository) -> None:
    await user_repository.add(new_user("alice", "shared@example.com"))

    with pytest.raises(Conflict) as caught:
        await user_repository.add(new_user("bob", "shared@example.com"))

    assert caught.value.details == {"field": "email"}
    assert await user_repository.get_by_username("bob") is None


async def test_update_overwrites_fields(user_repository: UserRepository) -> None:
    user = new_user()
    await user_repository.add(user)

    changed = replace(
        user,
        email="new@example.com",
        password_hash="$2b$12$other",
        is_active=False,
        is_superuser=True,
        updated_at=at(60),
    )
    await user_repository.update(changed)

    assert await user_repository.get(user.id) == changed


async def test_update_into_a_taken_email_conflicts(user_repository: UserRepository) -> None:
    await user_repository.add(new_user("alice"))
    bob = new_user("bob")
    await user_repository.add(bob)

    with pytest.raises(Conflict) as caught:
        await user_repository.update(replace(bob, email="alice@example.com"))

    assert caught.value.details == {"field": "email"}
    stored = await user_repository.get(bob.id)
    assert stored is not None and stored.email == "bob@example.com"


async def test_update_of_unknown_user_is_not_found(user_repository: UserRepository) -> None:
    with pytest.raises(NotFound):
        await user_repository.update(new_user())


async def test_returned_copies_do_not_alias_the_store(user_repository: UserRepository) -> None:
    user = new_user()
    await user_repository.add(user)
    user.email = "mutated@example.com"

    stored = await user_repository.get(user.id)
    assert stored is not None and stored.email == "alice@example.com"


async def test_timestamps_come_back_tz_aware(user_repository: UserRepository) -> None:
    plus_two = timezone(timedelta(hours=2))
    user = replace(new_user(), created_at=at(0).astimezone(plus_two))
    await user_repository.add(user)

    stored = await user_repository.get(user.id)
    assert stored is not None
    assert stored.created_at.tzinfo is not None and stored.updated_at.tzinfo is not None
    assert stored.created_at == at(0)


async def test_delete_removes_the_user_once(user_repository: UserRepository) -> None:
    user = new_user()
    await user_repository.add(user)

    assert await user_repository.delete(user.id) is True
    assert await user_repository.get(user.id) is None
    assert await user_repository.get_by_username(user.username) is None
    assert await user_repository.delete(user.id) is False
