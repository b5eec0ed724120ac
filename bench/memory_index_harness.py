"""What `bench/bench_memory_index.py` measures with: seeded vectors and their exact top-10
(`Data`), adapter and raw call timed in alternating rounds, recall against the truth, and the
rows for a search and an upsert."""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import numpy as np
import numpy.typing as npt

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
