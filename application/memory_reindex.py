"""Rebuild the vector index from the database, re-embedding what another model embedded
(`mai memory reindex`).

Each memory records the model that embedded it (`embedding_model`). When the configured
embedder changes, the memories embedded by another model (or by none) are re-embedded page by
page, and each page is committed — vectors and model name in the database, then the index —
before the next starts. A run that is killed loses at most the page in flight; run again, it
asks the database for what is still embedded by another model and continues from there.

Meanwhile search keeps working: retrieval ignores dense hits on memories embedded by
another model than the current one (their vectors are not comparable with the query's) and
finds them lexically until their turn comes.

Failure: an embedder or index error stops the run with that error (nothing half-written:
a page's vectors are stored before it is indexed, and indexing is idempotent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal
from uuid import UUID, uuid4

import structlog

from domain.memory.filters import index_payload
from domain.memory.long_term import IndexState, Memory
from domain.memory.long_term_ports import Embedder, IndexedVector, MemoryIndex, MemoryRepository

log = structlog.get_logger("mai.memory")
Phase = Literal["embedding", "indexing"]
Progress = Callable[[Phase, int], Awaitable[None] | None]


def vector_of(m: Memory) -> IndexedVector:
    assert m.embedding is not None
    return IndexedVector(m.id, m.user_id, m.embedding, index_payload(m))


async def embed_memories(embedder: Embedder, memories: Sequence[Memory]) -> None:
    """Embed each memory's content, in place, recording the model. Context and dates go to
    the full-text index only: measured on LoCoMo's dev split (BENCHMARKS.md), fusion gains
    more from a dense side that sees the content alone (recall@10 0.731 vs 0.718 with the
    context embedded too, both leave-one-conversation-out)."""
    vectors = await embedder.embed_documents([m.content for m in memories])
    for m, v in zip(memories, vectors, strict=True):
        m.embedding, m.embedding_model = v, embedder.model_name


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
            await embed_memories(self._embedder, missing)
            await self._repo.set_embeddings(
                {m.id: m.embedding for m in missing if m.embedding}, self._embedder.model_name
            )
        if to_index:
            await self._index.upsert([vector_of(m) for m in to_index])
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
        page_size: int = 200,
        progress: Progress | None = None,
    ) -> int:
        """Re-embed what another model embedded (with `reembed`, everything), then write
        every live memory's vector to the index. Returns how many were indexed."""
        await self._index.ensure_ready(self._embedder.dim)
        await self._reembed(user_id, page_size, progress, everything=reembed)
        after: UUID | None = None
        total = 0
        while page := await self._repo.all_for_reindex(user_id, after, page_size):
            ready = [m for m in page if m.embedding is not None]
            await self._index.upsert([vector_of(m) for m in ready])
            await self._repo.mark_indexed([m.id for m in ready])
            total += len(page)
            after = page[-1].id
            await _report(progress, "indexing", total)
        return total

    async def _reembed(
        self, user_id: UUID | None, page_size: int, progress: Progress | None, everything: bool
    ) -> None:
        model = self._embedder.model_name
        after: UUID | None = None
        done = 0
        while True:
            if everything:
                page = await self._repo.all_for_reindex(user_id, after, page_size)
            else:
                page = await self._repo.embedded_by_other(user_id, model, after, page_size)
            if not page:
                return
            await embed_memories(self._embedder, page)
            await self._repo.set_embeddings(
                {m.id: m.embedding for m in page if m.embedding is not None}, model
            )
            await self._index.upsert([vector_of(m) for m in page])
            await self._repo.mark_indexed([m.id for m in page])
            done += len(page)
            after = page[-1].id
            await _report(progress, "embedding", done)


async def _report(progress: Progress | None, phase: Phase, done: int) -> None:
    if progress is not None:
        maybe = progress(phase, done)
        if maybe is not None:
            await maybe
