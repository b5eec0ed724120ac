"""Ports of long-term memory: the database is the truth, the vector index is rebuildable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from domain.health import AdapterHealth


@dataclass(frozen=True, slots=True)
class IndexedVector:
    """What the vector index stores for one memory (payload = filterable fields)."""

    id: UUID
    user_id: UUID
    vector: list[float]
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VectorHit:
    id: UUID
    similarity: float  # cosine similarity in [-1, 1], higher is closer


class MemoryIndex(Protocol):
    """A vector index over memories. Every search and delete is scoped by the owner here,
    at the port, so no adapter can leak one user's memories to another."""

    name: str

    async def ensure_ready(self, dim: int) -> None:
        """Create the collection/shard/index if missing; `ConfigurationError` on a dim mismatch."""

    async def upsert(self, items: Sequence[IndexedVector]) -> None: ...

    async def search(
        self,
        user_id: UUID,
        vector: Sequence[float],
        k: int,
        filters: dict[str, Any] | None = None,
    ) -> list[VectorHit]:
        """The user's `k` nearest by cosine; `filters` match payload fields exactly."""

    async def delete(self, user_id: UUID, ids: Sequence[UUID]) -> None: ...

    async def delete_user(self, user_id: UUID) -> None: ...

    async def count(self, user_id: UUID | None = None) -> int: ...

    async def check(self) -> AdapterHealth: ...


class Embedder(Protocol):
    """Text → vectors, with query and document sides (E5-style models need the prefix)."""

    dim: int

    async def embed_query(self, text: str) -> list[float]: ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...
