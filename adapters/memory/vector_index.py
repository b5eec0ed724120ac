"""In-memory `MemoryIndex`: exact cosine search by numpy brute force over dict state.

The fake the BDD suite and the memory profile run on, and the contract suite's reference:
being exact, it is the ground truth the approximate indexes are held to. `entries` is public
so tests can assert on what was stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import numpy as np
import numpy.typing as npt

from adapters.embeddings.vectors import (
    as_unit_rows,
    dimension_mismatch,
    require_dim,
    stored_payload,
)
from domain.health import AdapterHealth
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.long_term_ports import IndexedVector, VectorHit

Matrix = npt.NDArray[np.float32]


class InMemoryVectorIndex:
    name = "memory"

    def __init__(self, dim: int | None = None) -> None:
        """Without `dim`, the first `ensure_ready` or upsert decides it."""
        self.dim = dim
        self.entries: dict[UUID, IndexedVector] = {}
        self._unit: dict[UUID, Matrix] = {}
        self._by_user: dict[UUID, dict[UUID, None]] = {}  # insertion-ordered id sets
        self._matrices: dict[UUID, tuple[list[UUID], Matrix]] = {}  # per-user search cache
        self._lock = asyncio.Lock()

    async def ensure_ready(self, dim: int) -> None:
        if self.dim is None:
            self.dim = dim
        elif self.dim != dim:
            raise dimension_mismatch(dim, self.dim, "The in-memory vector index")

    async def upsert(self, items: Sequence[IndexedVector]) -> None:
        if not items:
            return
        if self.dim is None:
            self.dim = len(items[0].vector)
        for item in items:
            require_dim(item.vector, self.dim, "A vector sent to the in-memory index")
        unit = as_unit_rows([item.vector for item in items])
        async with self._lock:
            for item, row in zip(items, unit, strict=True):
                previous = self.entries.get(item.id)
                if previous is not None and previous.user_id != item.user_id:
                    self._forget(previous.user_id, item.id)
                self.entries[item.id] = IndexedVector(
                    item.id, item.user_id, list(item.vector), stored_payload(item.payload)
                )
                self._unit[item.id] = row
                self._by_user.setdefault(item.user_id, {})[item.id] = None
                self._matrices.pop(item.user_id, None)

    async def search(
        self,
        user_id: UUID,
        vector: Sequence[float],
        k: int,
        where: MemoryFilter = ANY_MEMORY,
    ) -> list[VectorHit]:
        wanted = where.payload()
        if self.dim is not None:
            require_dim(vector, self.dim, "A query sent to the in-memory index")
        if k <= 0 or not self._by_user.get(user_id):
            return []
        ids, matrix = self._candidates(user_id, wanted)
        if not ids:
            return []
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        scores = matrix @ (query / norm if norm else query)
        top = np.argpartition(scores, len(ids) - k)[-k:] if k < len(ids) else np.arange(len(ids))
        best = [(float(scores[i]), ids[i]) for i in top.tolist()]
        best.sort(key=lambda hit: (-hit[0], hit[1]))  # ties: by id, as pgvector breaks them
        return [VectorHit(memory_id, similarity) for similarity, memory_id in best]

    async def delete(self, user_id: UUID, ids: Sequence[UUID]) -> None:
        async with self._lock:
            for memory_id in ids:
                entry = self.entries.get(memory_id)
                if entry is not None and entry.user_id == user_id:
                    self._forget(user_id, memory_id)

    async def delete_user(self, user_id: UUID) -> None:
        async with self._lock:
            for memory_id in list(self._by_user.get(user_id, {})):
                self._forget(user_id, memory_id)

    async def count(self, user_id: UUID | None = None) -> int:
        if user_id is None:
            return len(self.entries)
        return len(self._by_user.get(user_id, {}))

    async def check(self) -> AdapterHealth:
        return AdapterHealth(
            "vector_index", True, self.name, f"{len(self.entries)} vectors", False, 0.0
        )

    def _forget(self, user_id: UUID, memory_id: UUID) -> None:
        self.entries.pop(memory_id, None)
        self._unit.pop(memory_id, None)
        owned = self._by_user.get(user_id)
        if owned is not None:
            owned.pop(memory_id, None)
            if not owned:
                del self._by_user[user_id]
        self._matrices.pop(user_id, None)

    def _candidates(self, user_id: UUID, wanted: dict[str, Any]) -> tuple[list[UUID], Matrix]:
        if not wanted:
            cached = self._matrices.get(user_id)
            if cached is None:
                ids = list(self._by_user[user_id])
                cached = self._matrices[user_id] = (ids, self._stack(ids))
            return cached
        ids = [
            memory_id
            for memory_id in self._by_user[user_id]
            if all(_same(self.entries[memory_id].payload.get(k), v) for k, v in wanted.items())
        ]
        return ids, self._stack(ids)

    def _stack(self, ids: list[UUID]) -> Matrix:
        if not ids:
            return np.empty((0, self.dim or 0), dtype=np.float32)
        return np.stack([self._unit[memory_id] for memory_id in ids])


def _same(stored: Any, wanted: Any) -> bool:
    """Exact match as the real indexes see it: `True` does not match `1`."""
    return type(stored) is type(wanted) and stored == wanted
