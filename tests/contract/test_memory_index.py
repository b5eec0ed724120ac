"""Contract of `MemoryIndex`, one suite over the fake, pgvector, Qdrant (local mode) and
Qdrant Edge: same data, same answers, and no user ever sees another user's vectors.

The fake is exact, so it is held to numpy's ground truth; the approximate indexes must
reach recall@10 ≥ 0.9 on the same seeded data (at this size HNSW is in fact exact).
pgvector runs twice: as configured (small users are searched exactly) and forced onto its
HNSW plan (`exact_below=0`), so both of its query plans keep the contract.
pgvector updates rows that already exist, so `Loaded.put` writes the user and memory rows
first, as the repository does in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import numpy as np
import pytest
from qdrant_client import AsyncQdrantClient
from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert

from adapters.inprocess.vector_index import InProcessVectorIndex
from adapters.qdrant import QdrantEdgeIndex, QdrantIndex
from adapters.sql.database import Database
from adapters.sql.pgvector_index import PgVectorIndex
from adapters.sql.tables import memories, users
from domain.errors import ConfigurationError
from domain.memory.filters import ANY_MEMORY, MemoryFilter, index_payload
from domain.memory.long_term import Memory, MemoryKind
from domain.memory.long_term_ports import IndexedVector, MemoryIndex

from .conftest import TABLES_CHILD_FIRST

DIM = 384  # the migrated pgvector column's size (MEMORY__EMBEDDING_DIM's default)
KINDS = (MemoryKind.FACT, MemoryKind.EPISODIC, MemoryKind.PREFERENCE)
NOW = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass
class Loaded:
    """An index under test, and how to load data into it (rows first, for pgvector)."""

    index: MemoryIndex
    db: Database | None = None
    users_made: set[UUID] = field(default_factory=set)

    async def put(self, items: Sequence[IndexedVector]) -> None:
        if self.db is not None:
            await self._write_rows(items)
        await self.index.upsert(items)

    async def _write_rows(self, items: Sequence[IndexedVector]) -> None:
        assert self.db is not None
        new_users = {i.user_id for i in items} - self.users_made
        rows = [
            {
                "id": i.id,
                "user_id": i.user_id,
                "content": f"memory {i.id}",
                "kind": i.payload.get("kind", "episodic"),
                "created_at": NOW,
                "updated_at": NOW,
            }
            for i in items
        ]
        statement = insert(memories).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=[memories.c.id], set_={"kind": statement.excluded.kind}
        )
        async with self.db.transaction() as tx:
            for user_id in new_users:
                await tx.execute(
                    users.insert().values(
                        id=user_id,
                        username=f"u{user_id.hex}",
                        email=f"{user_id.hex}@example.com",
                        password_hash="x",
                        is_active=True,
                        is_superuser=False,
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
            await tx.execute(statement)
        self.users_made |= new_users

    async def cleanup(self) -> None:
        if self.db is not None and self.users_made:
            async with self.db.transaction() as tx:  # memories go with them (ON DELETE CASCADE)
                await tx.execute(delete(users).where(users.c.id.in_(self.users_made)))


@pytest.fixture(
    params=[
        "memory",
        pytest.param("pgvector", marks=pytest.mark.integration),
        pytest.param("pgvector-hnsw", marks=pytest.mark.integration),
        "qdrant-local",
        "qdrant-edge",
    ]
)
def index_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pg_database(request: pytest.FixtureRequest, index_backend: str) -> Database | None:
    """The migrated PostgreSQL, opened only for the pgvector run (emptied by `loaded`)."""
    if not index_backend.startswith("pgvector"):
        return None
    db: Database = request.getfixturevalue("postgres_database")
    return db


def hnsw_only(db: Database) -> PgVectorIndex:
    """pgvector forced onto its HNSW plan: at test sizes the planner would rather sort, so
    sorting is priced out (and JIT, which that price would trigger, switched off)."""
    return PgVectorIndex(db, exact_below=0, settings={"enable_sort": "off", "jit": "off"})


async def emptied(db: Database) -> Database:
    async with db.transaction() as tx:
        await tx.execute(text(f"TRUNCATE {', '.join(TABLES_CHILD_FIRST)} CASCADE"))
    return db


@pytest.fixture
async def loaded(
    index_backend: str, pg_database: Database | None, tmp_path: Path
) -> AsyncIterator[Loaded]:
    backend = index_backend
    if backend == "memory":
        under_test = Loaded(InProcessVectorIndex())
    elif pg_database is not None:
        index = hnsw_only(pg_database) if backend == "pgvector-hnsw" else PgVectorIndex(pg_database)
        under_test = Loaded(index, await emptied(pg_database))
    elif backend == "qdrant-local":
        client = AsyncQdrantClient(location=":memory:")
        under_test = Loaded(QdrantIndex(client, "memories_test"))
    else:
        under_test = Loaded(QdrantEdgeIndex(tmp_path / "shard", DIM))
    await under_test.index.ensure_ready(DIM)
    yield under_test
    await under_test.cleanup()
    if backend == "qdrant-local":
        await client.close()
    elif backend == "qdrant-edge":
        assert isinstance(under_test.index, QdrantEdgeIndex)
        await under_test.index.aclose()


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    matrix = rng.normal(size=(n, DIM)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def index_payload_of(kind: MemoryKind) -> dict[str, str]:
    """The payload the use-cases store with a memory of this kind."""
    return index_payload(Memory(uuid4(), "x", kind))


def items_for(
    user: UUID, vectors: np.ndarray, kinds: Sequence[MemoryKind] = KINDS
) -> list[IndexedVector]:
    return [
        IndexedVector(uuid4(), user, v.tolist(), index_payload_of(kinds[i % len(kinds)]))
        for i, v in enumerate(vectors)
    ]


def exact_top(items: Sequence[IndexedVector], query: np.ndarray, k: int) -> list[UUID]:
    matrix = np.array([i.vector for i in items], dtype=np.float64)
    order = np.argsort(-(matrix @ query.astype(np.float64)), kind="stable")[:k]
    return [items[j].id for j in order]


async def test_an_empty_index_finds_nothing(loaded: Loaded) -> None:
    query = unit_vectors(np.random.default_rng(1), 1)[0].tolist()
    assert await loaded.index.search(uuid4(), query, 10) == []
    assert await loaded.index.count() == 0


async def test_top_k_matches_exact_nearest_neighbours(loaded: Loaded) -> None:
    rng = np.random.default_rng(42)
    user = uuid4()
    stored = items_for(user, unit_vectors(rng, 300))
    await loaded.put(stored)
    by_id = {i.id: np.array(i.vector) for i in stored}
    found_total = 0
    for query in unit_vectors(rng, 20):
        hits = await loaded.index.search(user, query.tolist(), 10)
        truth = exact_top(stored, query, 10)
        found_total += len({h.id for h in hits} & set(truth))
        assert len(hits) == 10
        assert [h.similarity for h in hits] == sorted((h.similarity for h in hits), reverse=True)
        for hit in hits:  # the score is the cosine similarity itself
            assert hit.similarity == pytest.approx(float(by_id[hit.id] @ query), abs=1e-4)
        if isinstance(loaded.index, InProcessVectorIndex):
            assert [h.id for h in hits] == truth
    assert found_total / (20 * 10) >= 0.9


async def test_users_never_see_each_other(loaded: Loaded) -> None:
    rng = np.random.default_rng(7)
    alice, bob = uuid4(), uuid4()
    base = unit_vectors(rng, 40)
    near_copies = base + rng.normal(scale=1e-3, size=base.shape).astype(np.float32)
    alices, bobs = items_for(alice, base), items_for(bob, near_copies)
    await loaded.put(alices + bobs)
    index = loaded.index
    alice_ids, bob_ids = {i.id for i in alices}, {i.id for i in bobs}

    for bob_item in bobs[:10]:  # Bob's own vectors, asked for by Alice
        assert {h.id for h in await index.search(alice, bob_item.vector, 40)} <= alice_ids
    assert await index.count(alice) == 40 and await index.count(bob) == 40
    assert await index.count() == 80

    await index.delete(alice, [i.id for i in bobs])  # Alice cannot delete Bob's
    assert await index.count(bob) == 40
    assert {h.id for h in await index.search(bob, bobs[0].vector, 5)} <= bob_ids

    await index.delete_user(alice)
    assert await index.count(alice) == 0
    assert await index.search(alice, alices[0].vector, 5) == []
    assert await index.count(bob) == 40
    assert (await index.search(bob, bobs[3].vector, 1))[0].id == bobs[3].id


async def test_a_filter_narrows_to_the_memories_it_admits(loaded: Loaded) -> None:
    rng = np.random.default_rng(3)
    user = uuid4()
    stored = items_for(user, unit_vectors(rng, 60), KINDS[:2])  # no preferences stored
    await loaded.put(stored)
    query = unit_vectors(rng, 1)[0]
    for kind in (MemoryKind.FACT, MemoryKind.EPISODIC):
        admitted = [i for i in stored if i.payload == index_payload_of(kind)]
        hits = await loaded.index.search(user, query.tolist(), 5, MemoryFilter(kind=kind))
        assert [h.id for h in hits] == exact_top(admitted, query, 5)
        everything = await loaded.index.search(user, query.tolist(), 60, MemoryFilter(kind=kind))
        assert {h.id for h in everything} == {i.id for i in admitted}  # all of them, no other
    preferences = MemoryFilter(kind=MemoryKind.PREFERENCE)
    assert await loaded.index.search(user, query.tolist(), 5, preferences) == []
    unfiltered = await loaded.index.search(user, query.tolist(), 5, ANY_MEMORY)
    assert [h.id for h in unfiltered] == exact_top(stored, query, 5)


async def test_delete_removes_only_the_given_vectors(loaded: Loaded) -> None:
    rng = np.random.default_rng(5)
    user = uuid4()
    stored = items_for(user, unit_vectors(rng, 20))
    await loaded.put(stored)
    gone = stored[:5]
    await loaded.index.delete(user, [i.id for i in gone] + [uuid4()])  # unknown ids: no error
    await loaded.index.delete(user, [])
    assert await loaded.index.count(user) == 15
    for item in gone:
        assert item.id not in {h.id for h in await loaded.index.search(user, item.vector, 20)}
    assert (await loaded.index.search(user, stored[9].vector, 1))[0].id == stored[9].id


async def test_upsert_replaces_vector_and_payload(loaded: Loaded) -> None:
    rng = np.random.default_rng(11)
    user = uuid4()
    stored = items_for(user, unit_vectors(rng, 20))
    await loaded.put(stored)
    target = stored[0]
    new_vector = unit_vectors(rng, 1)[0].tolist()
    preference = index_payload_of(MemoryKind.PREFERENCE)
    await loaded.put([IndexedVector(target.id, user, new_vector, preference)])

    assert await loaded.index.count(user) == 20
    top = (await loaded.index.search(user, new_vector, 1))[0]
    assert top.id == target.id and top.similarity == pytest.approx(1.0, abs=1e-4)
    prefs = await loaded.index.search(user, new_vector, 1, MemoryFilter(MemoryKind.PREFERENCE))
    assert prefs[0].id == target.id
    was = MemoryFilter(MemoryKind(target.payload["kind"]))
    old = await loaded.index.search(user, target.vector, 20, was)
    assert target.id not in {h.id for h in old}


async def test_ensure_ready_is_idempotent_and_checks_the_dimension(loaded: Loaded) -> None:
    user = uuid4()
    stored = items_for(user, unit_vectors(np.random.default_rng(2), 3))
    await loaded.put(stored)
    await loaded.index.ensure_ready(DIM)
    assert await loaded.index.count(user) == 3
    with pytest.raises(ConfigurationError) as raised:
        await loaded.index.ensure_ready(DIM + 1)
    assert raised.value.details["variable"] == "MEMORY__EMBEDDING_DIM"
    with pytest.raises(ConfigurationError):
        await loaded.index.search(user, [1.0] * (DIM - 1), 3)


async def test_non_positive_k_and_health(loaded: Loaded) -> None:
    user = uuid4()
    await loaded.put(items_for(user, unit_vectors(np.random.default_rng(4), 3)))
    assert await loaded.index.search(user, [1.0] + [0.0] * (DIM - 1), 0) == []
    health = await loaded.index.check()
    assert health.ok and health.name == "vector_index" and not health.required
    assert health.backend == loaded.index.name


# --- adapter-specific behaviour ------------------------------------------------------------
async def test_edge_shard_reloads_and_refuses_a_second_opener(tmp_path: Path) -> None:
    path = tmp_path / "shard"
    first = QdrantEdgeIndex(path, DIM)
    user = uuid4()
    stored = items_for(user, unit_vectors(np.random.default_rng(8), 5))
    await first.upsert(stored)  # opens the shard lazily
    with pytest.raises(ConfigurationError, match="another process"):
        await QdrantEdgeIndex(path, DIM).ensure_ready(DIM)
    await first.aclose()

    wrong_size = QdrantEdgeIndex(path, DIM * 2)
    with pytest.raises(ConfigurationError) as raised:
        await wrong_size.ensure_ready(DIM * 2)
    assert raised.value.details == {
        "variable": "MEMORY__EMBEDDING_DIM",
        "expected": 768,
        "actual": 384,
    }
    await wrong_size.aclose()

    reopened = QdrantEdgeIndex(path, DIM)
    await reopened.ensure_ready(DIM)
    assert await reopened.count(user) == 5
    assert (await reopened.search(user, stored[2].vector, 1))[0].id == stored[2].id
    await reopened.aclose()


async def test_edge_optimizes_after_a_bulk_load(tmp_path: Path) -> None:
    index = QdrantEdgeIndex(tmp_path / "shard", DIM, optimize_after=50)
    user = uuid4()
    await index.upsert(items_for(user, unit_vectors(np.random.default_rng(9), 60)))
    assert index._unoptimized == 0  # the automatic optimize ran
    assert await index.optimize() in (True, False)
    assert await index.count(user) == 60
    await index.aclose()


async def test_qdrant_before_ensure_ready_is_a_configuration_error() -> None:
    client = AsyncQdrantClient(location=":memory:")
    index = QdrantIndex(client, "never_created")
    with pytest.raises(ConfigurationError, match="ensure_ready"):
        await index.count()
    health = await index.check()
    assert not health.ok
    await client.close()


@pytest.mark.integration
async def test_pgvector_never_writes_a_vector_onto_a_missing_or_foreign_row(
    postgres_database: Database,
) -> None:
    index = PgVectorIndex(await emptied(postgres_database))
    await index.ensure_ready(DIM)
    loaded = Loaded(index, postgres_database)
    alice, bob = uuid4(), uuid4()
    rng = np.random.default_rng(12)
    alices = items_for(alice, unit_vectors(rng, 2))
    await loaded.put(alices + items_for(bob, unit_vectors(rng, 1)))
    try:
        stray = IndexedVector(uuid4(), alice, alices[0].vector, {})
        foreign = IndexedVector(alices[1].id, bob, alices[0].vector, {})  # Alice's row, Bob's id
        await index.upsert([stray, foreign])
        assert await index.count(alice) == 2 and await index.count(bob) == 1
        assert (await index.search(alice, alices[1].vector, 1))[0].similarity == pytest.approx(1)
    finally:
        await loaded.cleanup()


@pytest.mark.integration
async def test_pgvector_plans_exact_for_small_users_and_hnsw_when_told(
    postgres_database: Database,
) -> None:
    db = await emptied(postgres_database)
    default, forced = PgVectorIndex(db), hnsw_only(db)
    loaded = Loaded(default, db)
    user = uuid4()
    stored = items_for(user, unit_vectors(np.random.default_rng(13), 50))
    await loaded.put(stored)
    try:
        for index in (default, forced):
            await index.ensure_ready(DIM)
        exact = await default.explain(user, stored[0].vector, 5, MemoryFilter(MemoryKind.FACT))
        assert "ix_memories_embedding_hnsw" not in exact and "CTE Scan on mine" in exact
        walked = await forced.explain(user, stored[0].vector, 5, MemoryFilter(MemoryKind.FACT))
        assert "Index Scan using ix_memories_embedding_hnsw" in walked
        assert "'[" not in walked  # the vector literal is elided
    finally:
        await loaded.cleanup()
