"""Contract of `ToolStateStore` and `ApprovalStore`: switches are last-write-wins upserts,
approvals are owner-scoped and resolve exactly once, however many callers race."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, select

from adapters.inprocess.tools import InProcessToolStateStore
from adapters.sql.database import Database
from adapters.sql.tables import conversations, tool_states, users
from domain.conversations.models import Conversation
from domain.conversations.ports import ConversationStore
from domain.errors import Conflict
from domain.identity.models import User
from domain.tools.models import Approval, ApprovalStatus, PendingCall
from domain.tools.ports import ApprovalStore, ToolStateStore

from .conftest import SQL_ONLY, MakeUser, at

# --- tool switches -------------------------------------------------------------------


async def changed_by(store: ToolStateStore, db: Database | None, name: str) -> UUID | None:
    """Who last flipped `name`: not part of the port, so read each backend's state."""
    if isinstance(store, InProcessToolStateStore):
        return store.states[name].changed_by
    assert db is not None
    async with db.transaction() as tx:
        query = select(tool_states.c.changed_by).where(tool_states.c.name == name)
        value: UUID | None = (await tx.execute(query)).scalar_one()
        return value


async def test_no_switches_at_first(tool_state_store: ToolStateStore) -> None:
    assert await tool_state_store.switches() == {}


async def test_set_enabled_then_switches(tool_state_store: ToolStateStore) -> None:
    await tool_state_store.set_enabled("calculator", False, changed_by=None)
    await tool_state_store.set_enabled("web_search", True, changed_by=None)

    assert await tool_state_store.switches() == {"calculator": False, "web_search": True}


async def test_toggling_back_overwrites_the_switch(tool_state_store: ToolStateStore) -> None:
    await tool_state_store.set_enabled("calculator", False, changed_by=None)
    await tool_state_store.set_enabled("calculator", True, changed_by=None)

    assert await tool_state_store.switches() == {"calculator": True}


async def test_changed_by_is_recorded(
    tool_state_store: ToolStateStore, clean_database: Database | None, make_user: MakeUser
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await tool_state_store.set_enabled("calculator", False, changed_by=alice.id)
    assert await changed_by(tool_state_store, clean_database, "calculator") == alice.id

    await tool_state_store.set_enabled("calculator", True, changed_by=bob.id)
    assert await changed_by(tool_state_store, clean_database, "calculator") == bob.id

    await tool_state_store.set_enabled("calculator", True, changed_by=None)
    assert await changed_by(tool_state_store, clean_database, "calculator") is None


async def test_concurrent_switches_never_fail(tool_state_store: ToolStateStore) -> None:
    await asyncio.gather(
        *(tool_state_store.set_enabled("calculator", i % 2 == 0, changed_by=None) for i in range(8))
    )

    assert set(await tool_state_store.switches()) == {"calculator"}


# --- approvals -----------------------------------------------------------------------


@dataclass
class Owned:
    user: User
    conversation: Conversation


@pytest.fixture
async def alice(make_user: MakeUser, conversation_store: ConversationStore) -> Owned:
    return await owned(make_user, conversation_store, "alice")


@pytest.fixture
async def bob(make_user: MakeUser, conversation_store: ConversationStore) -> Owned:
    return await owned(make_user, conversation_store, "bob")


async def owned(make_user: MakeUser, store: ConversationStore, name: str) -> Owned:
    """A user with one conversation (the SQL foreign keys need both)."""
    user = await make_user(name)
    conv = Conversation(user_id=user.id, agent_name="assistant", created_at=at(0), updated_at=at(0))
    await store.create(conv)
    return Owned(user, conv)


def approval(owner: Owned, created: float = 0, state: str = '[{"kind": "request"}]') -> Approval:
    return Approval(
        user_id=owner.user.id,
        conversation_id=owner.conversation.id,
        agent_name="assistant",
        message_id=uuid4(),
        prompt="delete my files, please",
        calls=[
            PendingCall("call-1", "delete_file", {"path": "/tmp/a", "opts": {"force": True}}),
            PendingCall("call-2", "send_mail", {"to": ["zoë@example.com"], "n": 2, "x": None}),
        ],
        state=state,
        created_at=at(created),
    )


async def test_add_then_get_round_trips(approval_store: ApprovalStore, alice: Owned) -> None:
    pending = approval(alice)
    await approval_store.add(pending)

    got = await approval_store.get(alice.user.id, pending.id)

    assert got == pending
    assert got.status is ApprovalStatus.PENDING and got.decisions == {} and got.resolved_at is None
    assert got.created_at.tzinfo is not None
    assert await approval_store.get(alice.user.id, uuid4()) is None


async def test_adding_the_same_id_twice_conflicts(
    approval_store: ApprovalStore, alice: Owned
) -> None:
    pending = approval(alice)
    await approval_store.add(pending)

    with pytest.raises(Conflict):
        await approval_store.add(pending)


async def test_returned_approvals_are_copies(approval_store: ApprovalStore, alice: Owned) -> None:
    pending = approval(alice)
    await approval_store.add(pending)
    pending.calls[0].args["path"] = "/etc"

    got = await approval_store.get(alice.user.id, pending.id)
    assert got is not None and got.calls[0].args["path"] == "/tmp/a"
    got.decisions["call-1"] = True
    again = await approval_store.get(alice.user.id, pending.id)
    assert again is not None and again.decisions == {}


async def test_list_is_newest_first_and_only_the_users(
    approval_store: ApprovalStore, alice: Owned, bob: Owned
) -> None:
    older, newer, middle = approval(alice, 0), approval(alice, 20), approval(alice, 10)
    for item in (older, newer, middle, approval(bob, 5)):
        await approval_store.add(item)

    listed = await approval_store.for_user(alice.user.id)

    assert [a.id for a in listed] == [newer.id, middle.id, older.id]
    assert await approval_store.for_user(uuid4()) == []


async def test_list_filters_by_status(approval_store: ApprovalStore, alice: Owned) -> None:
    first, second, third = approval(alice, 0), approval(alice, 10), approval(alice, 20)
    for item in (first, second, third):
        await approval_store.add(item)
    assert await approval_store.resolve(alice.user.id, first.id, ApprovalStatus.APPROVED, {})
    assert await approval_store.resolve(
        alice.user.id, third.id, ApprovalStatus.REJECTED, {"call-1": "no"}
    )

    def ids(items: list[Approval]) -> list[UUID]:
        return [a.id for a in items]

    assert ids(await approval_store.for_user(alice.user.id, ApprovalStatus.PENDING)) == [second.id]
    assert ids(await approval_store.for_user(alice.user.id, ApprovalStatus.APPROVED)) == [first.id]
    assert ids(await approval_store.for_user(alice.user.id, ApprovalStatus.REJECTED)) == [third.id]
    assert ids(await approval_store.for_user(alice.user.id)) == [third.id, second.id, first.id]


async def test_another_users_approval_is_invisible_and_untouchable(
    approval_store: ApprovalStore, alice: Owned, bob: Owned
) -> None:
    hers = approval(alice)
    await approval_store.add(hers)

    assert await approval_store.get(bob.user.id, hers.id) is None
    assert await approval_store.for_user(bob.user.id) == []
    assert not await approval_store.resolve(bob.user.id, hers.id, ApprovalStatus.APPROVED, {})

    still = await approval_store.get(alice.user.id, hers.id)
    assert still is not None and still.status is ApprovalStatus.PENDING


async def test_resolve_once_then_never_again(approval_store: ApprovalStore, alice: Owned) -> None:
    pending = approval(alice)
    await approval_store.add(pending)
    decisions: dict[str, bool | str] = {"call-1": True, "call-2": "not today"}

    assert await approval_store.resolve(
        alice.user.id, pending.id, ApprovalStatus.REJECTED, decisions
    )
    assert not await approval_store.resolve(
        alice.user.id, pending.id, ApprovalStatus.APPROVED, {"call-1": True, "call-2": True}
    )

    got = await approval_store.get(alice.user.id, pending.id)
    assert got is not None
    assert (got.status, got.decisions) == (ApprovalStatus.REJECTED, decisions)
    assert got.resolved_at is not None and got.resolved_at.tzinfo is not None


async def test_resolve_unknown_is_false(approval_store: ApprovalStore, alice: Owned) -> None:
    assert not await approval_store.resolve(alice.user.id, uuid4(), ApprovalStatus.APPROVED, {})


async def test_resolving_to_pending_is_a_programming_error(
    approval_store: ApprovalStore, alice: Owned
) -> None:
    pending = approval(alice)
    await approval_store.add(pending)

    with pytest.raises(ValueError):
        await approval_store.resolve(alice.user.id, pending.id, ApprovalStatus.PENDING, {})


async def test_concurrent_resolves_have_exactly_one_winner(
    approval_store: ApprovalStore, alice: Owned
) -> None:
    pending = approval(alice)
    await approval_store.add(pending)

    def attempt(i: int) -> tuple[ApprovalStatus, dict[str, bool | str]]:
        if i % 2:
            return ApprovalStatus.REJECTED, {"call-1": f"no {i}", "call-2": f"no {i}"}
        return ApprovalStatus.APPROVED, {"call-1": True, "call-2": True}

    results = await asyncio.gather(
        *(approval_store.resolve(alice.user.id, pending.id, *attempt(i)) for i in range(10))
    )

    assert sorted(results) == [False] * 9 + [True]
    got = await approval_store.get(alice.user.id, pending.id)
    assert got is not None and (got.status, got.decisions) == attempt(results.index(True))


async def test_a_large_state_round_trips(approval_store: ApprovalStore, alice: Owned) -> None:
    state = ('{"part": "' + "ü0123456789abcdef" * 61_681 + '"}')[: 1 << 20]
    assert len(state) == 1 << 20
    pending = approval(alice, state=state)
    await approval_store.add(pending)

    got = await approval_store.get(alice.user.id, pending.id)

    assert got is not None and got.state == state


# --- cascades (SQL only: the fakes have no foreign keys) ------------------------------


def sql_only(db: Database | None) -> Database:
    assert db is not None, "run with @SQL_ONLY"
    return db


@SQL_ONLY
async def test_deleting_the_conversation_deletes_its_approvals(
    approval_store: ApprovalStore, clean_database: Database | None, alice: Owned
) -> None:
    db = sql_only(clean_database)
    pending = approval(alice)
    await approval_store.add(pending)

    async with db.transaction() as tx:
        await tx.execute(delete(conversations).where(conversations.c.id == alice.conversation.id))

    assert await approval_store.get(alice.user.id, pending.id) is None


@SQL_ONLY
async def test_deleting_the_user_deletes_approvals_and_keeps_switches(
    approval_store: ApprovalStore,
    tool_state_store: ToolStateStore,
    clean_database: Database | None,
    alice: Owned,
) -> None:
    db = sql_only(clean_database)
    pending = approval(alice)
    await approval_store.add(pending)
    await tool_state_store.set_enabled("calculator", False, changed_by=alice.user.id)

    async with db.transaction() as tx:
        await tx.execute(delete(users).where(users.c.id == alice.user.id))

    assert await approval_store.for_user(alice.user.id) == []
    assert await tool_state_store.switches() == {"calculator": False}
    assert await changed_by(tool_state_store, db, "calculator") is None
