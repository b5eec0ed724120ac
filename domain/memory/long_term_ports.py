"""Ports of long-term memory: the database is the truth, the vector index is rebuildable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.health import AdapterHealth
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.long_term import Memory
from domain.pagination import Page


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
        where: MemoryFilter = ANY_MEMORY,
    ) -> list[VectorHit]:
        """The user's `k` nearest by cosine among the memories `where` admits (matched on
        the payload `index_payload` stores)."""

    async def delete(self, user_id: UUID, ids: Sequence[UUID]) -> None: ...

    async def delete_user(self, user_id: UUID) -> None: ...

    async def count(self, user_id: UUID | None = None) -> int: ...

    async def check(self) -> AdapterHealth: ...


class Embedder(Protocol):
    """Text → vectors, with query and document sides (E5-style models need the prefix).
    `model_name` is recorded with every memory it embeds."""

    dim: int
    model_name: str

    async def embed_query(self, text: str) -> list[float]: ...

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...


@dataclass(frozen=True, slots=True)
class LexicalHit:
    id: UUID
    rank: float  # higher is better; only comparable within one result list


class MemoryRepository(Protocol):
    """The source of truth for memories (PostgreSQL / SQLite). Every method is scoped by
    the owner; `index_state` is the outbox the reconciler drains into the vector index."""

    async def add_many(self, memories: Sequence[Memory]) -> None: ...

    async def get_many(
        self, user_id: UUID, ids: Sequence[UUID], *, with_embeddings: bool = True
    ) -> list[Memory]:
        """The user's live memories among `ids`, in that order (unknown, deleted, foreign ids
        left out); without their vectors unless `with_embeddings` (search needs none)."""

    async def page(self, user_id: UUID, limit: int, after: str | None = None) -> Page[Memory]:
        """Newest first, cursor-paginated."""

    async def soft_delete(self, user_id: UUID, memory_id: UUID, at: datetime) -> bool:
        """Hide it now and mark it `deleting` so the reconciler removes it from the index."""

    async def touch(self, user_id: UUID, ids: Sequence[UUID], at: datetime) -> None:
        """Count an access (access_count + 1, last_accessed_at = at)."""

    async def lexical_search(
        self, user_id: UUID, query: str, k: int, where: MemoryFilter = ANY_MEMORY
    ) -> list[LexicalHit]:
        """Full-text search (PostgreSQL FTS / SQLite FTS5): what dense retrieval misses."""

    async def pending(self, limit: int) -> list[Memory]:
        """Memories whose index write is outstanding (pending or deleting), oldest first."""

    async def mark_indexed(self, ids: Sequence[UUID]) -> None: ...

    async def set_embeddings(
        self, vectors: dict[UUID, list[float]], model: str | None = None
    ) -> None:
        """Store (re)computed embeddings and the model that made them, so a rebuild need
        not embed again."""

    async def update(self, memory: Memory) -> bool:
        """Write an edited memory back (content, metadata, importance, context, embedding
        and its model, index state, updated time); False unless it is the owner's and live."""

    async def embedded_by_other(
        self, user_id: UUID | None, model: str, after: UUID | None, limit: int
    ) -> list[Memory]:
        """Live memories (in id order, after `after`) whose embedding is missing or was made
        by another model than `model`: what a re-embedding still has to do."""

    async def purge(self, ids: Sequence[UUID]) -> None:
        """Remove rows (deleted memories whose index entry is gone)."""

    async def cleanup_candidates(
        self, user_id: UUID | None, older_than: datetime, max_importance: float, limit: int
    ) -> list[Memory]:
        """Live memories created before `older_than` with importance below `max_importance`."""

    async def all_for_reindex(
        self, user_id: UUID | None, after: UUID | None, limit: int
    ) -> list[Memory]:
        """Live memories in id order, for rebuilding an index page by page."""

    async def stats(self, user_id: UUID | None) -> dict[str, int]:
        """Counts: total, by index_state, by kind."""
