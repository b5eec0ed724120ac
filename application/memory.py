"""Long-term memory use-cases: store, retrieve (dense, lexical or hybrid), forget, clean up,
and keep the vector index in step with the database.

The database is the truth. A memory is committed there first (`index_state = pending`),
then written to the vector index; if the index (or the embedder) is down the store still
succeeds and `ReconcileIndex` catches up later. Search with the index down falls back to
lexical search and says so (`degraded`), never an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol
from uuid import UUID, uuid4

import structlog

from domain.errors import NotFound, ValidationFailed
from domain.memory.long_term import (
    IndexState,
    Memory,
    MemoryKind,
    RankingWeights,
    ScoredMemory,
    heuristic_importance,
    rank,
)
from domain.memory.long_term_ports import Embedder, IndexedVector, MemoryIndex, MemoryRepository
from domain.pagination import Page, clamp_page_size
from domain.ports import Clock
from domain.user_input import check_value

log = structlog.get_logger("mai.memory")
Mode = Literal["dense", "lexical", "hybrid"]
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al., 2009)
MAX_K = 50


@dataclass(frozen=True, slots=True)
class NewMemory:
    content: str
    kind: MemoryKind = MemoryKind.EPISODIC
    importance: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source_conversation_id: UUID | None = None
    source_message_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Retrieval:
    items: list[ScoredMemory]
    mode: Mode
    degraded: bool = False  # True when the vector index was unavailable (lexical only)


def _check_storable(item: NewMemory) -> None:
    """Text no store can keep (NUL, lone surrogates) and metadata nested too deep are
    refused before anything is written, whichever way the memory came in."""
    for name, value in (("content", item.content), ("metadata", item.metadata)):
        try:
            check_value(value)
        except ValueError as exc:
            raise ValidationFailed(f"Memory {name} {exc}.", details={"field": name}) from None


def fuse(rankings: Sequence[Sequence[UUID]]) -> dict[UUID, float]:
    """Reciprocal rank fusion, normalised so the best possible score is 1."""
    scores: dict[UUID, float] = {}
    for ranking in rankings:
        for position, ident in enumerate(ranking, start=1):
            scores[ident] = scores.get(ident, 0.0) + 1.0 / (RRF_K + position)
    best = len(rankings) / (RRF_K + 1)
    return {i: s / best for i, s in scores.items()}


def _vector(m: Memory) -> IndexedVector:
    assert m.embedding is not None
    return IndexedVector(m.id, m.user_id, m.embedding, {"kind": m.kind.value})


class ImportanceScorer(Protocol):
    """Rates how important a memory is, 0..1 (an LLM, when configured)."""

    async def score(self, content: str, kind: MemoryKind) -> float: ...


class LongTermMemory:
    """The operations users know: store, store_many, retrieve, get_recent, update_access,
    calculate_importance, cleanup_old_memories, forget."""

    def __init__(
        self,
        repository: MemoryRepository,
        index: MemoryIndex,
        embedder: Embedder,
        clock: Clock,
        weights: RankingWeights | None = None,
        scorer: ImportanceScorer | None = None,
    ) -> None:
        self._scorer = scorer
        self._repo = repository
        self._index = index
        self._embedder = embedder
        self._clock = clock
        self._weights = weights or RankingWeights()

    async def calculate_importance(
        self, content: str, kind: MemoryKind = MemoryKind.EPISODIC
    ) -> float:
        """LLM-scored when a scorer is configured (MEMORY__LLM_IMPORTANCE), else the
        documented heuristic; a scorer that fails falls back to the heuristic."""
        if self._scorer is not None:
            try:
                return min(1.0, max(0.0, await self._scorer.score(content, kind)))
            except Exception as exc:
                log.warning("memory_importance_scoring_failed", error_type=type(exc).__name__)
        return heuristic_importance(content, kind)

    async def store(self, user_id: UUID, item: NewMemory) -> Memory:
        return (await self.store_many(user_id, [item]))[0]

    async def store_many(self, user_id: UUID, items: Sequence[NewMemory]) -> list[Memory]:
        for item in items:  # whoever writes (API, the `remember` tool, fact extraction)
            _check_storable(item)
        now = self._clock.now()
        scores = [
            i.importance
            if i.importance is not None
            else await self.calculate_importance(i.content, i.kind)
            for i in items
        ]
        memories = [
            Memory(
                user_id=user_id,
                content=i.content,
                kind=i.kind,
                importance=score,
                metadata=dict(i.metadata),
                source_conversation_id=i.source_conversation_id,
                source_message_id=i.source_message_id,
                created_at=now,
                updated_at=now,
            )
            for i, score in zip(items, scores, strict=True)
        ]
        try:
            vectors = await self._embedder.embed_documents([m.content for m in memories])
            for m, v in zip(memories, vectors, strict=True):
                m.embedding = v
        except Exception as exc:  # embedder down: the reconciler embeds later
            log.warning("memory_embed_failed", error_type=type(exc).__name__, count=len(memories))
        await self._repo.add_many(memories)  # the truth first
        await self._index_now([m for m in memories if m.embedding is not None])
        return memories

    async def _index_now(self, memories: list[Memory]) -> None:
        if not memories:
            return
        try:
            await self._index.upsert([_vector(m) for m in memories])
        except Exception as exc:  # index down: stays pending for the reconciler
            log.warning("memory_index_failed", error_type=type(exc).__name__, count=len(memories))
            return
        await self._repo.mark_indexed([m.id for m in memories])
        for m in memories:
            m.index_state = IndexState.INDEXED

    async def retrieve(
        self,
        user_id: UUID,
        query: str,
        k: int = 5,
        filters: dict[str, Any] | None = None,
        mode: Mode = "hybrid",
    ) -> Retrieval:
        if not query.strip():
            raise ValidationFailed("Query is empty.", details={"field": "q"})
        if not 1 <= k <= MAX_K:
            raise ValidationFailed(f"k must be between 1 and {MAX_K}.", details={"field": "k"})
        candidates = k * 3  # rank more than k so importance/recency can reorder
        dense: list[tuple[UUID, float]] = []
        degraded = False
        if mode != "lexical":
            try:
                vector = await self._embedder.embed_query(query)
                hits = await self._index.search(user_id, vector, candidates, filters)
                dense = [(h.id, h.similarity) for h in hits]
            except Exception as exc:
                log.warning("memory_search_degraded", error_type=type(exc).__name__)
                degraded, mode = True, "lexical"
        lexical: list[UUID] = []
        if mode != "dense":
            lexical = [
                h.id for h in await self._repo.lexical_search(user_id, query, candidates, filters)
            ]
        if mode == "dense":
            similarity = dict(dense)
        elif mode == "lexical":
            similarity = fuse([lexical])
        else:
            similarity = fuse([[i for i, _ in dense], lexical])
        found = await self._repo.get_many(user_id, list(similarity))
        ranked = rank([(m, similarity[m.id]) for m in found], self._clock.now(), self._weights, k)
        await self.update_access(user_id, [r.memory.id for r in ranked])
        return Retrieval(ranked, mode, degraded)

    async def update_access(self, user_id: UUID, ids: Sequence[UUID]) -> None:
        await self._repo.touch(user_id, ids, self._clock.now())

    async def get_recent(
        self, user_id: UUID, limit: int = 20, after: str | None = None
    ) -> Page[Memory]:
        return await self._repo.list(user_id, clamp_page_size(limit), after)

    async def forget(self, user_id: UUID, memory_id: UUID) -> None:
        if not await self._repo.soft_delete(user_id, memory_id, self._clock.now()):
            raise NotFound("Memory not found.", details={"memory_id": str(memory_id)})
        await self._unindex(user_id, [memory_id])

    async def _unindex(self, user_id: UUID, ids: list[UUID]) -> None:
        try:
            await self._index.delete(user_id, ids)
        except Exception as exc:  # stays `deleting`; the reconciler retries
            log.warning("memory_unindex_failed", error_type=type(exc).__name__, count=len(ids))
            return
        await self._repo.purge(ids)

    async def cleanup_old_memories(
        self, user_id: UUID | None, max_age: timedelta, min_importance: float, limit: int = 10_000
    ) -> int:
        """Forget memories older than `max_age` whose importance is below `min_importance`."""
        if max_age < timedelta(0):
            raise ValidationFailed("max_age must not be negative.", details={"field": "max_age"})
        if not 0.0 <= min_importance <= 1.0:
            raise ValidationFailed(
                "min_importance must be between 0 and 1.", details={"field": "min_importance"}
            )
        now = self._clock.now()
        candidates = await self._repo.cleanup_candidates(
            user_id, now - max_age, min_importance, limit
        )
        owners: dict[UUID, list[UUID]] = {}
        for memory in candidates:
            if await self._repo.soft_delete(memory.user_id, memory.id, now):
                owners.setdefault(memory.user_id, []).append(memory.id)
        for owner, owned in owners.items():
            await self._unindex(owner, owned)
        return sum(len(v) for v in owners.values())


class ReconcileIndex:
    """Drain the outbox: index what is pending (embedding it if needed), remove what is
    deleted. Run it in the background; it is idempotent and safe to run concurrently."""

    def __init__(
        self, repository: MemoryRepository, index: MemoryIndex, embedder: Embedder
    ) -> None:
        self._repo = repository
        self._index = index
        self._embedder = embedder

    async def execute(self, batch: int = 256) -> dict[str, int]:
        done = {"indexed": 0, "removed": 0}
        pending = await self._repo.pending(batch)
        to_index = [m for m in pending if m.index_state is IndexState.PENDING]
        to_remove = [m for m in pending if m.index_state is IndexState.DELETING]
        missing = [m for m in to_index if m.embedding is None]
        if missing:
            vectors = await self._embedder.embed_documents([m.content for m in missing])
            for m, v in zip(missing, vectors, strict=True):
                m.embedding = v
            await self._repo.set_embeddings({m.id: m.embedding for m in missing if m.embedding})
        if to_index:
            await self._index.upsert([_vector(m) for m in to_index])
            await self._repo.mark_indexed([m.id for m in to_index])
            done["indexed"] = len(to_index)
        by_owner: dict[UUID, list[UUID]] = {}
        for m in to_remove:
            by_owner.setdefault(m.user_id, []).append(m.id)
        for owner, ids in by_owner.items():
            await self._index.delete(owner, ids)
            await self._repo.purge(ids)
            done["removed"] += len(ids)
        return done

    async def run_forever(self, interval: float = 5.0, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        structlog.contextvars.bind_contextvars(job="memory_reconciler")  # this task's logs
        while not stop.is_set():
            structlog.contextvars.bind_contextvars(job_id=uuid4().hex)  # one per pass
            try:
                result = await self.execute()
                if result["indexed"] or result["removed"]:
                    log.info("memory_reconciled", **result)
            except Exception as exc:
                log.warning("memory_reconcile_failed", error_type=type(exc).__name__)
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                continue


class ReindexMemories:
    """Rebuild a vector index from the database (`mai memory reindex`)."""

    def __init__(
        self, repository: MemoryRepository, index: MemoryIndex, embedder: Embedder
    ) -> None:
        self._repo = repository
        self._index = index
        self._embedder = embedder

    async def execute(
        self,
        user_id: UUID | None = None,
        *,
        reembed: bool = False,
        page_size: int = 500,
        progress: Callable[[int], Awaitable[None] | None] | None = None,
    ) -> int:
        await self._index.ensure_ready(self._embedder.dim)
        after: UUID | None = None
        total = 0
        while True:
            page = await self._repo.all_for_reindex(user_id, after, page_size)
            if not page:
                return total
            stale = page if reembed else [m for m in page if m.embedding is None]
            if stale:
                vectors = await self._embedder.embed_documents([m.content for m in stale])
                for m, v in zip(stale, vectors, strict=True):
                    m.embedding = v
                await self._repo.set_embeddings(
                    {m.id: v for m, v in zip(stale, vectors, strict=True)}
                )
            await self._index.upsert([_vector(m) for m in page])
            await self._repo.mark_indexed([m.id for m in page])
            total += len(page)
            after = page[-1].id
            if progress is not None:
                maybe = progress(total)
                if maybe is not None:
                    await maybe
