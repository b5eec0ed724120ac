"""Long-term memory use-cases: store, retrieve (dense, lexical or hybrid), forget, clean up,
and keep the vector index in step with the database.

The database is the truth. A memory is committed there first (`index_state = pending`),
then written to the vector index; if the index (or the embedder) is down the store still
succeeds and `ReconcileIndex` catches up later. Search with the index down falls back to
lexical search and says so (`degraded`), never an error.

What a memory is found by (its content, the memory before it in the same thread, its
dates: `domain.memory.indexing`) is computed here when it is stored or edited, and embedded
by the model recorded with it. A write that nearly repeats one of the user's memories
(cosine ≥ `dedup_similarity` and nearly the same words) updates that memory instead of
adding another; nothing is ever deleted for being a duplicate. An edit is re-embedded and
re-indexed before it returns; if that fails, the old vector is removed so search finds the
edit lexically and never by its old text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol
from uuid import UUID

import structlog

from application.memory_fusion import Fused, Fusion, fuse
from application.memory_reindex import (
    ReconcileIndex,
    ReindexMemories,
    embed_memories,
    vector_of,
)
from application.memory_types import MemoryEdit, Mode, NewMemory, Retrieval, check_storable
from domain.errors import NotFound, ValidationFailed
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.indexing import clip_context, same_words, thread_of
from domain.memory.long_term import (
    IndexState,
    Memory,
    MemoryKind,
    RankingWeights,
    ScoredMemory,
    check_content,
    heuristic_importance,
    rank,
)
from domain.memory.long_term_ports import Embedder, MemoryIndex, MemoryRepository
from domain.pagination import Page, clamp_page_size
from domain.ports import Clock

log = structlog.get_logger("mai.memory")
MAX_K = 50
DEDUP_SIMILARITY = 0.97  # cosine at or above which a write updates the memory it repeats
__all__ = [
    "ANY_MEMORY",
    "MAX_K",
    "Fusion",
    "LongTermMemory",
    "MemoryEdit",
    "MemoryFilter",
    "Mode",
    "NewMemory",
    "ReconcileIndex",
    "ReindexMemories",
    "Retrieval",
]


class ImportanceScorer(Protocol):
    """Rates how important a memory is, 0..1 (an LLM, when configured)."""

    async def score(self, content: str, kind: MemoryKind) -> float: ...


class LongTermMemory:
    """The operations users know: store, store_many, retrieve, get, update, get_recent,
    update_access, calculate_importance, cleanup_old_memories, forget."""

    def __init__(
        self,
        repository: MemoryRepository,
        index: MemoryIndex,
        embedder: Embedder,
        clock: Clock,
        weights: RankingWeights | None = None,
        scorer: ImportanceScorer | None = None,
        fusion: Fusion | None = None,
        dedup_similarity: float = DEDUP_SIMILARITY,
    ) -> None:
        self._fusion = fusion or Fusion()
        self._dedup = dedup_similarity
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
            check_storable(item)
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
                source=i.source,
            )
            for i, score in zip(items, scores, strict=True)
        ]
        await self._add_context(user_id, memories)
        try:
            await embed_memories(self._embedder, memories)
        except Exception as exc:  # embedder down: the reconciler embeds later
            log.warning("memory_embed_failed", error_type=type(exc).__name__, count=len(memories))
        repeats = await self._repeats(user_id, memories)
        fresh = [m for n, m in enumerate(memories) if n not in repeats]
        await self._repo.add_many(fresh)  # the truth first
        await self._index_now([m for m in fresh if m.embedding is not None])
        for n, stored in repeats.items():
            memories[n] = await self._merge(stored, memories[n])
        return memories

    async def _add_context(self, user_id: UUID, memories: list[Memory]) -> None:
        """Give each memory the content of the one before it in its thread as context."""
        latest = await self._repo.page(user_id, 1)
        previous = latest.items[0] if latest.items else None
        for m in memories:
            thread = thread_of(m.metadata, m.source_conversation_id)
            if (
                previous is not None
                and thread is not None
                and thread_of(previous.metadata, previous.source_conversation_id) == thread
            ):
                m.context = clip_context(previous.content)
            previous = m

    async def _repeats(self, user_id: UUID, memories: list[Memory]) -> dict[int, Memory]:
        """The stored memory each new one repeats, by the new one's position."""
        repeats: dict[int, Memory] = {}
        if self._dedup > 1.0:
            return repeats
        for n, m in enumerate(memories):
            if m.embedding is None:
                continue
            try:
                hits = await self._index.search(user_id, m.embedding, 1)
            except Exception as exc:  # index down: no check, the write goes through
                log.warning("memory_dedup_skipped", error_type=type(exc).__name__)
                break
            if hits and hits[0].similarity >= self._dedup:
                found = await self._repo.get_many(user_id, [hits[0].id])
                if found and found[0].kind is m.kind and same_words(found[0].content, m.content):
                    repeats[n] = found[0]
        return repeats

    async def _merge(self, old: Memory, new: Memory) -> Memory:
        """A repeated write refreshes what it repeats: its text, metadata, importance."""
        old.content, old.context = new.content, new.context
        old.metadata = {**old.metadata, **new.metadata}
        old.importance = max(old.importance, new.importance)
        old.embedding, old.embedding_model = new.embedding, new.embedding_model
        old.updated_at = new.updated_at
        log.info("memory_repeat_merged", memory_id=str(old.id))
        return await self._save_edit(old)

    async def _index_now(self, memories: list[Memory]) -> None:
        if not memories:
            return
        try:
            await self._index.upsert([vector_of(m) for m in memories])
        except Exception as exc:  # index down: stays pending for the reconciler
            log.warning("memory_index_failed", error_type=type(exc).__name__, count=len(memories))
            return
        await self._repo.mark_indexed([m.id for m in memories])
        for m in memories:
            m.index_state = IndexState.INDEXED

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory:
        found = await self._repo.get_many(user_id, [memory_id])
        if not found:
            raise NotFound("Memory not found.", details={"memory_id": str(memory_id)})
        return found[0]

    async def update(self, user_id: UUID, memory_id: UUID, edit: MemoryEdit) -> Memory:
        """Correct a memory; it is searchable as edited when this returns."""
        memory = await self.get(user_id, memory_id)
        if edit.content is not None:
            check_content(edit.content)
        check_storable(NewMemory(edit.content or memory.content, metadata=edit.metadata or {}))
        if edit.importance is not None and not 0.0 <= edit.importance <= 1.0:
            raise ValidationFailed(
                "Importance must be between 0 and 1.", details={"field": "importance"}
            )
        if edit.content is not None:
            memory.content = edit.content
        if edit.metadata is not None:
            memory.metadata = dict(edit.metadata)
        if edit.importance is not None:
            memory.importance = edit.importance
        memory.updated_at = self._clock.now()
        try:
            await embed_memories(self._embedder, [memory])
        except Exception as exc:  # found lexically until the reconciler embeds it
            log.warning("memory_embed_failed", error_type=type(exc).__name__, count=1)
            memory.embedding = memory.embedding_model = None
        return await self._save_edit(memory)

    async def _save_edit(self, memory: Memory) -> Memory:
        memory.index_state = IndexState.PENDING
        if not await self._repo.update(memory):
            raise NotFound("Memory not found.", details={"memory_id": str(memory.id)})
        if memory.embedding is not None:
            await self._index_now([memory])
        if memory.index_state is not IndexState.INDEXED:  # never found by its old vector
            try:
                await self._index.delete(memory.user_id, [memory.id])
            except Exception as exc:  # the reconciler re-indexes it (pending) later
                log.warning("memory_unindex_failed", error_type=type(exc).__name__, count=1)
        return memory

    async def retrieve(
        self,
        user_id: UUID,
        query: str,
        k: int = 5,
        where: MemoryFilter = ANY_MEMORY,
        mode: Mode = "hybrid",
    ) -> Retrieval:
        if not query.strip():
            raise ValidationFailed("Query is empty.", details={"field": "q"})
        if not 1 <= k <= MAX_K:
            raise ValidationFailed(f"k must be between 1 and {MAX_K}.", details={"field": "k"})
        pool = max(k * 3, self._fusion.pool)  # more than k, so the ranking can reorder
        dense: list[tuple[UUID, float]] | None = []
        lexical: list[tuple[UUID, float]] = []
        if mode == "hybrid":  # both sides at once: the index and the database wait in parallel
            dense, lexical = await asyncio.gather(
                self._dense(user_id, query, pool, where),
                self._lexical(user_id, query, pool, where),
            )
        elif mode == "dense":
            dense = await self._dense(user_id, query, pool, where)
        else:
            lexical = await self._lexical(user_id, query, pool, where)
        degraded = dense is None
        if dense is None:  # embedder or index down: lexical alone, and it says so
            if mode == "dense":
                lexical = await self._lexical(user_id, query, pool, where)
            mode, dense = "lexical", []
        fused = fuse(dense, lexical, self._fusion)
        found = await self._candidates(user_id, dense, fused, mode, k)
        model = self._embedder.model_name
        stale = {m.id for m in found if m.embedding_model not in (None, model)}
        if stale & {i for i, _ in dense}:  # another model's vectors: not comparable, drop
            dense = [(i, s) for i, s in dense if i not in stale]
            fused = fuse(dense, lexical, self._fusion)
            found = await self._candidates(user_id, dense, fused, mode, k)
        similarity = dict(dense) if mode == "dense" else {i: f.score for i, f in fused.items()}
        found = [m for m in found if m.id in similarity]
        ranked = rank([(m, similarity[m.id]) for m in found], self._clock.now(), self._weights, k)
        ranked = [
            ScoredMemory(
                r.memory,
                r.similarity,
                r.score,
                fused[r.memory.id].dense,
                fused[r.memory.id].lexical,
            )
            for r in ranked
        ]
        await self.update_access(user_id, [r.memory.id for r in ranked])
        return Retrieval(ranked, mode, degraded)

    async def _dense(
        self, user_id: UUID, query: str, pool: int, where: MemoryFilter
    ) -> list[tuple[UUID, float]] | None:
        """The index's nearest memories, or None when the embedder or the index is down."""
        try:
            vector = await self._embedder.embed_query(query)
            hits = await self._index.search(user_id, vector, pool, where)
        except Exception as exc:
            log.warning("memory_search_degraded", error_type=type(exc).__name__)
            return None
        return [(h.id, h.similarity) for h in hits]

    async def _lexical(
        self, user_id: UUID, query: str, pool: int, where: MemoryFilter
    ) -> list[tuple[UUID, float]]:
        hits = await self._repo.lexical_search(user_id, query, pool, where)
        return [(h.id, h.rank) for h in hits]

    async def _candidates(
        self,
        user_id: UUID,
        dense: list[tuple[UUID, float]],
        fused: dict[UUID, Fused],
        mode: Mode,
        k: int,
    ) -> list[Memory]:
        """The best 3k by retrieval alone, loaded (without their vectors) for ranking."""
        if mode == "dense":
            order = [i for i, _ in dense]
        else:
            order = sorted(fused, key=lambda i: fused[i].score, reverse=True)
        return await self._repo.get_many(user_id, order[: k * 3], with_embeddings=False)

    async def update_access(self, user_id: UUID, ids: Sequence[UUID]) -> None:
        await self._repo.touch(user_id, ids, self._clock.now())

    async def get_recent(
        self, user_id: UUID, limit: int = 20, after: str | None = None
    ) -> Page[Memory]:
        return await self._repo.page(user_id, clamp_page_size(limit), after)

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
