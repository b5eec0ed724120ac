"""Contract of `MemoryRepository` on the fake, SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

import pytest
from sqlalchemy import event

import adapters.sql.memories as memories_module
from adapters.sql import sqlite_search
from adapters.sql.database import Database
from domain.identity.models import User
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.long_term import IndexState, Memory, MemoryKind, MemorySource
from domain.memory.long_term_ports import MemoryRepository

from .conftest import MakeUser, at


@pytest.fixture
async def two(make_user: MakeUser) -> tuple[User, User]:
    return await make_user("alice"), await make_user("bob")


def mem(owner: User, content: str, t: float = 0, **kw: object) -> Memory:
    return Memory(owner.id, content, created_at=at(t), updated_at=at(t), **kw)  # type: ignore[arg-type]


async def test_round_trip_every_field(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, bob = two
    m = mem(
        alice,
        "Ada likes tea",
        1,
        kind=MemoryKind.PREFERENCE,
        importance=0.8,
        metadata={"src": "chat", "n": [1, 2]},
        embedding=[0.5] * 384,
        last_accessed_at=at(2),
        source_conversation_id=uuid4(),
        source_message_id=uuid4(),
        source=MemorySource.TOOL,
        embedding_model="test-model",
        context="what came before",
    )
    other = mem(alice, "Ada drinks coffee too", 2)
    await memory_repository.add_many([m, other])
    [got] = await memory_repository.get_many(alice.id, [m.id])
    assert got == m
    assert got.created_at.tzinfo is not None
    # As search loads them: without vectors, in the order asked, unknown ids left out.
    light = await memory_repository.get_many(
        alice.id, [other.id, uuid4(), m.id], with_embeddings=False
    )
    assert light == [replace(other, embedding=None), replace(m, embedding=None)]
    assert light[1].last_accessed_at is not None and light[1].last_accessed_at.tzinfo
    assert await memory_repository.get_many(bob.id, [m.id], with_embeddings=False) == []


async def test_list_newest_first_with_cursor(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, _ = two
    items = [mem(alice, f"memory {i}", i // 2) for i in range(7)]
    await memory_repository.add_many(items)
    seen, cursor = [], None
    while True:
        page = await memory_repository.page(alice.id, 3, cursor)
        seen += [m.id for m in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [m.id for m in sorted(items, key=lambda m: (m.created_at, m.id), reverse=True)]


async def test_lexical_search_finds_exact_names_and_numbers(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, _ = two
    target = mem(alice, "Flight LH 1234 to Lisbon leaves on 2026-03-14")
    cat = mem(alice, "My cat is called Miso", kind=MemoryKind.FACT)
    await memory_repository.add_many(
        [
            target,
            mem(alice, "I enjoy travelling to sunny places"),
            cat,
        ]
    )
    hits = await memory_repository.lexical_search(alice.id, "when is flight 1234?", 5)
    assert hits[0].id == target.id
    assert [h.id for h in await memory_repository.lexical_search(alice.id, "Miso", 5)] != []
    facts = MemoryFilter(kind=MemoryKind.FACT)
    found = await memory_repository.lexical_search(alice.id, "Miso Lisbon", 5, facts)
    assert [h.id for h in found] == [cat.id]
    everything = await memory_repository.lexical_search(alice.id, "Miso Lisbon", 5, ANY_MEMORY)
    assert {h.id for h in everything} == {cat.id, target.id}
    prefs = MemoryFilter(kind=MemoryKind.PREFERENCE)
    assert await memory_repository.lexical_search(alice.id, "Miso Lisbon", 5, prefs) == []
    assert await memory_repository.lexical_search(alice.id, "zzzz qqq", 5) == []
    assert await memory_repository.lexical_search(alice.id, "  ?! ", 5) == []


async def test_soft_delete_hides_and_queues_removal(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, _ = two
    m = mem(alice, "secret plan")
    await memory_repository.add_many([m])
    await memory_repository.mark_indexed([m.id])
    assert await memory_repository.soft_delete(alice.id, m.id, at(5))
    assert not await memory_repository.soft_delete(alice.id, m.id, at(6))
    assert await memory_repository.get_many(alice.id, [m.id]) == []
    assert await memory_repository.lexical_search(alice.id, "secret", 5) == []
    [pending] = await memory_repository.pending(10)
    assert pending.id == m.id and pending.index_state is IndexState.DELETING
    await memory_repository.purge([m.id])
    assert await memory_repository.pending(10) == []


async def test_outbox_pending_then_indexed(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, bob = two
    a, b = mem(alice, "one", 1), mem(bob, "two", 2)
    await memory_repository.add_many([a, b])
    assert [m.id for m in await memory_repository.pending(10)] == [a.id, b.id]
    await memory_repository.mark_indexed([a.id])
    assert [m.id for m in await memory_repository.pending(10)] == [b.id]


async def test_touch_counts_access(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, bob = two
    m = mem(alice, "hello")
    await memory_repository.add_many([m])
    await memory_repository.touch(alice.id, [m.id], at(9))
    await memory_repository.touch(alice.id, [m.id], at(10))
    await memory_repository.touch(bob.id, [m.id], at(11))  # not bob's: ignored
    [got] = await memory_repository.get_many(alice.id, [m.id])
    assert (got.access_count, got.last_accessed_at) == (2, at(10))


async def test_cleanup_candidates_old_and_unimportant_only(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, bob = two
    old_trivial = mem(alice, "old trivial", 0, importance=0.1)
    old_important = mem(alice, "old important", 0, importance=0.9)
    new_trivial = mem(alice, "new trivial", 100, importance=0.1)
    bobs = mem(bob, "bob old trivial", 0, importance=0.1)
    await memory_repository.add_many([old_trivial, old_important, new_trivial, bobs])
    cutoff = at(50)
    found = await memory_repository.cleanup_candidates(alice.id, cutoff, 0.5, 10)
    assert [m.id for m in found] == [old_trivial.id]
    everyone = await memory_repository.cleanup_candidates(None, cutoff, 0.5, 10)
    assert {(m.id, m.user_id) for m in everyone} == {(old_trivial.id, alice.id), (bobs.id, bob.id)}


async def test_reindex_pages_in_id_order(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, bob = two
    items = [mem(alice, f"m{i}") for i in range(5)] + [mem(bob, "b")]
    await memory_repository.add_many(items)
    page1 = await memory_repository.all_for_reindex(alice.id, None, 3)
    page2 = await memory_repository.all_for_reindex(alice.id, page1[-1].id, 3)
    got = [m.id for m in page1 + page2]
    assert got == sorted(m.id for m in items[:5])
    assert len(await memory_repository.all_for_reindex(None, None, 100)) == 6


async def test_stats(memory_repository: MemoryRepository, two: tuple[User, User]) -> None:
    alice, _ = two
    a, b = mem(alice, "a", kind=MemoryKind.FACT), mem(alice, "b")
    await memory_repository.add_many([a, b])
    await memory_repository.mark_indexed([a.id])
    stats = await memory_repository.stats(alice.id)
    assert stats["total"] == 2 and stats["kind:fact"] == 1
    assert stats["state:indexed"] == 1 and stats["state:pending"] == 1


async def test_isolation_between_users(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, bob = two
    mine = mem(alice, "Alice's bank PIN is 4321")
    await memory_repository.add_many([mine, mem(bob, "Bob's bank PIN is 9876")])
    assert await memory_repository.get_many(bob.id, [mine.id]) == []
    assert all(
        h.id != mine.id
        for h in await memory_repository.lexical_search(bob.id, "Alice PIN 4321", 10)
    )
    assert [m.id for m in (await memory_repository.page(bob.id, 10)).items] != [mine.id]
    assert not await memory_repository.soft_delete(bob.id, mine.id, at(1))
    assert (await memory_repository.stats(bob.id))["total"] == 1
    assert len(await memory_repository.get_many(alice.id, [mine.id])) == 1


async def test_set_embeddings(memory_repository: MemoryRepository, two: tuple[User, User]) -> None:
    alice, _ = two
    m = mem(alice, "embed me")
    await memory_repository.add_many([m])
    await memory_repository.set_embeddings({m.id: [0.25] * 384})
    [got] = await memory_repository.get_many(alice.id, [m.id])
    assert got.embedding == [0.25] * 384


async def test_lexical_search_stems_drops_stop_words_and_sees_context_and_dates(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    """The same full-text quality on every store: stemmed words match ("adopted" ~
    "adopting"), stop words never decide a ranking, and a memory is found by the context
    it was indexed with and by the dates in its metadata."""
    alice, _ = two
    adopted = mem(alice, "We finally adopted two puppies last weekend")
    reply = mem(alice, "Wow, that is wonderful news!", context="Caroline: I got the new job")
    dated = mem(alice, "The concert was amazing", metadata={"date": "8 May, 2023"})
    noise = [mem(alice, f"what is it that you did there, number {i}?") for i in range(5)]
    await memory_repository.add_many([adopted, reply, dated, *noise])

    async def top(query: str) -> object:
        hits = await memory_repository.lexical_search(alice.id, query, 3)
        return hits[0].id if hits else None

    assert await top("When did they adopt the puppy?") == adopted.id
    assert await top("What did Caroline get?") == reply.id
    assert await top("What happened in May 2023?") == dated.id


async def test_update_and_what_another_model_embedded(
    memory_repository: MemoryRepository, two: tuple[User, User]
) -> None:
    alice, bob = two
    old, new, bare = (
        mem(alice, "one", embedding=[0.1] * 384, embedding_model="old-model"),
        mem(alice, "two", embedding=[0.2] * 384, embedding_model="new-model"),
        mem(alice, "three"),
    )
    await memory_repository.add_many([old, new, bare])
    stale = await memory_repository.embedded_by_other(None, "new-model", None, 10)
    assert {m.id for m in stale} == {old.id, bare.id}
    first = await memory_repository.embedded_by_other(alice.id, "new-model", None, 1)
    rest = await memory_repository.embedded_by_other(alice.id, "new-model", first[0].id, 10)
    assert {m.id for m in first + rest} == {old.id, bare.id}
    await memory_repository.set_embeddings({old.id: [0.3] * 384}, "new-model")
    assert [
        m.id for m in await memory_repository.embedded_by_other(None, "new-model", None, 9)
    ] == [bare.id]

    old.content, old.metadata, old.importance = "one, corrected", {"k": "v"}, 0.9
    old.source, old.updated_at = MemorySource.TOOL, at(5)
    assert await memory_repository.update(old)
    [got] = await memory_repository.get_many(alice.id, [old.id])
    assert (got.content, got.metadata, got.importance, got.source) == (
        "one, corrected",
        {"k": "v"},
        0.9,
        MemorySource.TOOL,
    )
    assert got.updated_at == at(5) and got.created_at == at(0)
    assert [h.id for h in await memory_repository.lexical_search(alice.id, "corrected", 5)] == [
        old.id
    ]
    assert await memory_repository.lexical_search(alice.id, "one", 5) != []
    stolen = Memory(bob.id, "mine now", id=old.id)
    assert not await memory_repository.update(stolen)  # another user's id: nothing changes
    [still] = await memory_repository.get_many(alice.id, [old.id])
    assert still.content == "one, corrected"


async def test_lexical_ranking_is_bounded_to_the_users_newest_matches(
    memory_repository: MemoryRepository,
    two: tuple[User, User],
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL ranks at most RANK_CAP matches, the user's newest (a query of common words
    must not cost O(matching rows)); another user's matches never take a place in the pool.
    The other stores rank every match (FTS5's bm25 runs in its own index)."""
    monkeypatch.setattr(memories_module, "RANK_CAP", 3)
    alice, bob = two
    oldest_best = mem(alice, "kayak kayak kayak trip", 0)
    newer = [mem(alice, f"a kayak note number {i}", 1 + i) for i in range(4)]
    bobs = [mem(bob, f"kayak kayak kayak for bob {i}", 10 + i) for i in range(5)]
    await memory_repository.add_many([oldest_best, *newer, *bobs])
    hits = await memory_repository.lexical_search(alice.id, "kayak", 10)
    ranks = [h.rank for h in hits]
    assert ranks == sorted(ranks, reverse=True)
    found = {h.id for h in hits}
    assert found <= {oldest_best.id, *(m.id for m in newer)}
    if backend == "postgres":
        assert found == {m.id for m in newer[-3:]}
    else:
        assert len(found) == 5 and hits[0].id == oldest_best.id
    assert len(await memory_repository.lexical_search(alice.id, "kayak", 2)) == 2


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_finds_memories_by_id_through_the_primary_key(
    memory_repository: MemoryRepository, two: tuple[User, User], database: Database
) -> None:
    """Without statistics SQLite preferred the (user_id, created_at) index to `id IN (…)`,
    walking all of a user's rows to load or count the few a search returns: the statements
    of search's hot path, and SQLAlchemy's for the other callers, use the primary key."""
    alice, _ = two
    stored = [mem(alice, f"note {i}", i) for i in range(20)]
    await memory_repository.add_many(stored)
    ids = [m.id for m in stored[:5]]
    seen: list[tuple[str, object]] = []

    def record(_c: object, _cur: object, sql: str, params: object, *_rest: object) -> None:
        seen.append((sql, params))

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert len(await memory_repository.get_many(alice.id, ids)) == 5  # with vectors
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    hexes = [alice.id.hex, *(i.hex for i in ids)]
    marks = ", ".join("?" * len(ids))
    seen += [
        (sqlite_search.GET_MANY.format(columns="id", marks=marks), hexes),
        (sqlite_search.TOUCH.format(marks=marks), ["2026-01-01 00:00:00.000000", *hexes]),
    ]
    async with database.driver_connection() as raw:
        plans = []
        for sql, params in seen:
            rows = await raw.execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
            plans.append(" ".join(str(row[3]) for row in rows))
    assert len(plans) == 3, plans
    for plan in plans:
        assert "ix_memories_user_created" not in plan and "(id=?)" in plan, plan
