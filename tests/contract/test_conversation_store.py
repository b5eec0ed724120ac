"""Contract of `ConversationStore`: ordering, keyset pages, soft delete and owner isolation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta, timezone
from uuid import UUID, uuid4

import pytest

from domain.conversations.models import Conversation, Message, MessageStatus, Role
from domain.conversations.ports import ConversationStore
from domain.errors import NotFound, ValidationFailed
from domain.identity.models import User

from .conftest import MakeUser, at


@dataclass
class Owners:
    alice: User
    bob: User


@pytest.fixture
async def owners(make_user: MakeUser) -> Owners:
    return Owners(await make_user("alice"), await make_user("bob"))


def conversation(owner: User, updated: float = 0, cid: UUID | None = None) -> Conversation:
    return Conversation(
        user_id=owner.id,
        agent_name="assistant",
        title=f"chat {updated}",
        id=cid or uuid4(),
        created_at=at(0),
        updated_at=at(updated),
    )


def message(conv: Conversation, created: float, text: str = "hi") -> Message:
    return Message(conversation_id=conv.id, role=Role.USER, content=text, created_at=at(created))


async def stored(store: ConversationStore, *conversations: Conversation) -> None:
    for conv in conversations:
        await store.create(conv)


async def all_pages(store: ConversationStore, user: User, size: int) -> list[Conversation]:
    seen: list[Conversation] = []
    cursor: str | None = None
    while True:
        page = await store.page(user.id, size, after=cursor)
        assert len(page.items) <= size
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


# --- create, get, list ---------------------------------------------------------------


async def test_create_then_get(conversation_store: ConversationStore, owners: Owners) -> None:
    conv = conversation(owners.alice, updated=5)
    await conversation_store.create(conv)

    got = await conversation_store.get(owners.alice.id, conv.id)

    assert got == conv
    assert got.created_at.tzinfo is not None and got.updated_at.tzinfo is not None
    assert await conversation_store.get(owners.alice.id, uuid4()) is None


async def test_non_utc_timestamps_keep_their_instant(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice, updated=5)
    conv.updated_at = conv.updated_at.astimezone(timezone(timedelta(hours=-5)))
    await conversation_store.create(conv)

    got = await conversation_store.get(owners.alice.id, conv.id)

    assert got is not None and got.updated_at == at(5) and got.updated_at.tzinfo is not None


async def test_list_is_most_recently_updated_first_ties_by_id(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    convs = [conversation(owners.alice, updated=u) for u in (10, 30, 20, 30, 30)]
    await stored(conversation_store, *convs)

    page = await conversation_store.page(owners.alice.id, limit=10)

    expected = sorted(convs, key=lambda c: (c.updated_at, c.id), reverse=True)
    assert [c.id for c in page.items] == [c.id for c in expected]
    assert page.next_cursor is None


async def test_pages_cover_everything_once(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    # Ties on updated_at straddle page boundaries: the id tie-break must keep pages exact.
    convs = [conversation(owners.alice, updated=u // 3) for u in range(11)]
    await stored(conversation_store, *convs)

    seen = await all_pages(conversation_store, owners.alice, size=3)

    expected = sorted(convs, key=lambda c: (c.updated_at, c.id), reverse=True)
    assert [c.id for c in seen] == [c.id for c in expected]


async def test_exactly_full_page_has_no_next_cursor(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    await stored(conversation_store, *(conversation(owners.alice, updated=u) for u in range(3)))

    page = await conversation_store.page(owners.alice.id, limit=3)

    assert len(page.items) == 3 and page.next_cursor is None


@pytest.mark.parametrize("cursor", ["not-a-cursor", "!!!", "Zm9vfGJhcg"])
async def test_bad_cursor_is_a_validation_error(
    conversation_store: ConversationStore, owners: Owners, cursor: str
) -> None:
    conv = conversation(owners.alice)
    await conversation_store.create(conv)

    with pytest.raises(ValidationFailed):
        await conversation_store.page(owners.alice.id, 10, after=cursor)
    with pytest.raises(ValidationFailed):
        await conversation_store.messages(owners.alice.id, conv.id, 10, after=cursor)


async def test_page_size_is_checked_and_clamped(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    await stored(conversation_store, conversation(owners.alice))

    with pytest.raises(ValidationFailed):
        await conversation_store.page(owners.alice.id, limit=0)
    assert len((await conversation_store.page(owners.alice.id, limit=10_000)).items) == 1


# --- messages ------------------------------------------------------------------------


async def test_create_with_its_first_message_stores_both_at_once(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice, updated=5)
    first = message(conv, created=30, text="hello")

    await conversation_store.create(conv, first)

    got = await conversation_store.get(owners.alice.id, conv.id)
    assert got is not None and got.updated_at == at(30)  # touched, as add_message would
    page = await conversation_store.messages(owners.alice.id, conv.id, 10)
    assert [(m.id, m.content, m.created_at) for m in page.items] == [(first.id, "hello", at(30))]
    # bob sees neither
    assert await conversation_store.get(owners.bob.id, conv.id) is None


async def test_create_refuses_a_first_message_of_another_conversation(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    theirs = conversation(owners.bob)
    await conversation_store.create(theirs)
    mine = conversation(owners.alice)

    with pytest.raises(ValidationFailed):
        await conversation_store.create(mine, message(theirs, created=1, text="sneaky"))

    # nothing was written: neither the conversation nor a message in bob's
    assert await conversation_store.get(owners.alice.id, mine.id) is None
    page = await conversation_store.messages(owners.bob.id, theirs.id, 10)
    assert page.items == []


async def test_add_message_bumps_updated_at_and_reorders(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    old, recent = conversation(owners.alice, updated=10), conversation(owners.alice, updated=20)
    await stored(conversation_store, old, recent)

    await conversation_store.add_message(owners.alice.id, message(old, created=100))

    got = await conversation_store.get(owners.alice.id, old.id)
    assert got is not None and got.updated_at == at(100)
    page = await conversation_store.page(owners.alice.id, 10)
    assert [c.id for c in page.items] == [old.id, recent.id]


async def test_add_message_never_moves_updated_at_back(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice, updated=50)
    await conversation_store.create(conv)

    await conversation_store.add_message(owners.alice.id, message(conv, created=10))

    got = await conversation_store.get(owners.alice.id, conv.id)
    assert got is not None and got.updated_at == at(50)


async def test_concurrent_appends_are_all_stored_and_the_latest_time_wins(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice)
    await conversation_store.create(conv)
    times = [7, 3, 12, 1, 9, 5, 11, 2]

    await asyncio.gather(
        *(conversation_store.add_message(owners.alice.id, message(conv, t)) for t in times)
    )

    page = await conversation_store.messages(owners.alice.id, conv.id, 50)
    assert [m.created_at for m in page.items] == [at(t) for t in sorted(times)]
    got = await conversation_store.get(owners.alice.id, conv.id)
    assert got is not None and got.updated_at == at(12)


async def test_add_message_to_unknown_conversation_is_not_found(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    ghost = conversation(owners.alice)
    with pytest.raises(NotFound):
        await conversation_store.add_message(owners.alice.id, message(ghost, created=1))


async def test_messages_round_trip_every_field(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice)
    await conversation_store.create(conv)
    msg = Message(
        conversation_id=conv.id,
        role=Role.ASSISTANT,
        content="Sunny, 21°C ☀",
        tool_calls=[{"id": "call-1", "name": "weather", "args": {"city": "Lyon"}}],
        tool_call_id="call-0",
        token_count=42,
        usage={"input_tokens": 10, "output_tokens": 32},
        metadata={"model": "smol", "nested": {"list": [1, 2.5, None]}},
        created_at=at(7),
    )
    await conversation_store.add_message(owners.alice.id, msg)

    page = await conversation_store.messages(owners.alice.id, conv.id, 10)

    assert page.items == [msg]
    assert page.items[0].created_at.tzinfo is not None


async def test_messages_are_oldest_first_and_page_exactly(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice)
    await conversation_store.create(conv)
    msgs = [message(conv, created=i // 2, text=f"m{i}") for i in range(9)]
    for msg in msgs:
        await conversation_store.add_message(owners.alice.id, msg)

    seen: list[Message] = []
    cursor: str | None = None
    while True:
        page = await conversation_store.messages(owners.alice.id, conv.id, 4, after=cursor)
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    expected = sorted(msgs, key=lambda m: (m.created_at, m.id))
    assert [m.id for m in seen] == [m.id for m in expected]


async def test_set_message_status_records_a_failure(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice)
    await conversation_store.create(conv)
    msg = message(conv, created=1)
    await conversation_store.add_message(owners.alice.id, msg)

    error: dict[str, object] = {"code": "MODEL_UNAVAILABLE", "message": "LLM down"}
    await conversation_store.set_message_status(
        owners.alice.id, msg.id, MessageStatus.FAILED, error
    )

    [got] = (await conversation_store.messages(owners.alice.id, conv.id, 10)).items
    assert (got.status, got.error) == (MessageStatus.FAILED, error)
    with pytest.raises(NotFound):
        await conversation_store.set_message_status(
            owners.alice.id, uuid4(), MessageStatus.OK, None
        )


async def test_messages_for_batches_only_live_owned_conversations(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    busy, quiet, empty, gone = (conversation(owners.alice) for _ in range(4))
    foreign = conversation(owners.bob)
    await stored(conversation_store, busy, quiet, empty, gone, foreign)
    busy_msgs = [message(busy, created=i) for i in (3, 1, 2)]
    for msg in [*busy_msgs, message(quiet, created=5), message(gone, created=1)]:
        await conversation_store.add_message(owners.alice.id, msg)
    await conversation_store.add_message(owners.bob.id, message(foreign, created=1))
    await conversation_store.soft_delete(owners.alice.id, gone.id, at(9))

    batch: dict[UUID, list[Message]] = await conversation_store.messages_for(
        owners.alice.id, [busy.id, quiet.id, empty.id, gone.id, foreign.id, uuid4()], 2
    )

    assert set(batch) == {busy.id, quiet.id, empty.id}
    assert [m.created_at for m in batch[busy.id]] == [at(1), at(2)]
    assert len(batch[quiet.id]) == 1 and batch[empty.id] == []
    assert await conversation_store.messages_for(owners.alice.id, [], 2) == {}


# --- soft delete ---------------------------------------------------------------------


async def test_soft_delete_hides_and_restore_brings_back(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice)
    await conversation_store.create(conv)

    assert await conversation_store.soft_delete(owners.alice.id, conv.id, at(60))
    assert not await conversation_store.soft_delete(owners.alice.id, conv.id, at(61))
    assert await conversation_store.get(owners.alice.id, conv.id) is None
    assert (await conversation_store.page(owners.alice.id, 10)).items == []
    with pytest.raises(NotFound):
        await conversation_store.messages(owners.alice.id, conv.id, 10)
    with pytest.raises(NotFound):
        await conversation_store.add_message(owners.alice.id, message(conv, created=1))

    assert await conversation_store.restore(owners.alice.id, conv.id)
    assert not await conversation_store.restore(owners.alice.id, conv.id)
    assert await conversation_store.get(owners.alice.id, conv.id) == conv
    assert [c.id for c in (await conversation_store.page(owners.alice.id, 10)).items] == [conv.id]


# --- isolation: bob can never reach alice's conversation -------------------------------


@pytest.fixture
async def alices(conversation_store: ConversationStore, owners: Owners) -> Conversation:
    conv = conversation(owners.alice, updated=1)
    await conversation_store.create(conv)
    await conversation_store.add_message(owners.alice.id, message(conv, created=1))
    return conv


async def test_isolation_get(
    conversation_store: ConversationStore, owners: Owners, alices: Conversation
) -> None:
    assert await conversation_store.get(owners.bob.id, alices.id) is None


async def test_isolation_list(
    conversation_store: ConversationStore, owners: Owners, alices: Conversation
) -> None:
    page = await conversation_store.page(owners.bob.id, 100)
    assert page.items == [] and page.next_cursor is None


async def test_isolation_add_message(
    conversation_store: ConversationStore, owners: Owners, alices: Conversation
) -> None:
    with pytest.raises(NotFound):
        await conversation_store.add_message(owners.bob.id, message(alices, created=99))
    page = await conversation_store.messages(owners.alice.id, alices.id, 10)
    assert len(page.items) == 1
    got = await conversation_store.get(owners.alice.id, alices.id)
    assert got is not None and got.updated_at == at(1)


async def test_isolation_messages(
    conversation_store: ConversationStore, owners: Owners, alices: Conversation
) -> None:
    with pytest.raises(NotFound):
        await conversation_store.messages(owners.bob.id, alices.id, 10)


async def test_isolation_messages_for(
    conversation_store: ConversationStore, owners: Owners, alices: Conversation
) -> None:
    assert await conversation_store.messages_for(owners.bob.id, [alices.id], 10) == {}


async def test_isolation_set_message_status(
    conversation_store: ConversationStore, owners: Owners, alices: Conversation
) -> None:
    [msg] = (await conversation_store.messages(owners.alice.id, alices.id, 10)).items
    with pytest.raises(NotFound):
        await conversation_store.set_message_status(
            owners.bob.id, msg.id, MessageStatus.FAILED, {"code": "X"}
        )
    [after] = (await conversation_store.messages(owners.alice.id, alices.id, 10)).items
    assert after.status is MessageStatus.OK


async def test_isolation_soft_delete_and_restore(
    conversation_store: ConversationStore, owners: Owners, alices: Conversation
) -> None:
    assert not await conversation_store.soft_delete(owners.bob.id, alices.id, at(5))
    assert await conversation_store.get(owners.alice.id, alices.id) is not None

    await conversation_store.soft_delete(owners.alice.id, alices.id, at(5))
    assert not await conversation_store.restore(owners.bob.id, alices.id)
    assert await conversation_store.get(owners.alice.id, alices.id) is None


async def test_recent_messages_are_the_newest_in_chronological_order(
    conversation_store: ConversationStore, owners: Owners
) -> None:
    conv = conversation(owners.alice)
    await conversation_store.create(conv)
    msgs = [message(conv, created=i // 2, text=f"m{i}") for i in range(9)]
    for msg in msgs:
        await conversation_store.add_message(owners.alice.id, msg)
    expected = sorted(msgs, key=lambda m: (m.created_at, m.id))

    recent = await conversation_store.recent_messages(owners.alice.id, conv.id, 4)

    assert [m.id for m in recent] == [m.id for m in expected[-4:]]
    assert await conversation_store.recent_messages(owners.alice.id, conv.id, 0) == []
    assert len(await conversation_store.recent_messages(owners.alice.id, conv.id, 50)) == 9


async def test_isolation_recent_messages(
    conversation_store: ConversationStore, owners: Owners, alices: Conversation
) -> None:
    with pytest.raises(NotFound):
        await conversation_store.recent_messages(owners.bob.id, alices.id, 10)
