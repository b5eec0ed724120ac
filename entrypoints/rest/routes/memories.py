"""/memories: a user's long-term memories; anyone else's id answers 404. A memory can be
read with its provenance and corrected (`PATCH`: re-embedded and re-indexed before the
answer, so search sees the edit at once).

Search never fails because the vector index is down: it falls back to lexical search and
says so with `degraded: true` (still 200).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from application.memory import MAX_K, MemoryEdit, MemoryFilter, Mode, NewMemory
from domain.memory.long_term import MAX_MEMORY_CHARS, MemoryKind
from entrypoints.rest.deps import ContainerDep, CurrentUser
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.schemas import (
    MemoryDetailOut,
    MemoryIn,
    MemoryOut,
    MemoryPage,
    MemoryPatch,
    MemorySearchOut,
    ScoredMemoryOut,
)

router = APIRouter(prefix="/memories", tags=["memories"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=100)]
After = Annotated[str | None, Query(max_length=200)]
Q = Annotated[str, Query(min_length=1, max_length=MAX_MEMORY_CHARS, description="The query.")]
K = Annotated[int, Query(ge=1, le=MAX_K, description="How many to return.")]
Kind = Annotated[MemoryKind | None, Query(description="Only memories of this kind.")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MemoryOut)
async def remember(body: MemoryIn, user: CurrentUser, container: ContainerDep) -> MemoryOut:
    """Store a memory. It is stored even when the vector index is down (indexed later)."""
    memory = await container.long_term_memory().store(
        user.id,
        NewMemory(
            content=body.content,
            kind=body.kind,
            importance=body.importance,
            metadata=body.metadata,
        ),
    )
    return MemoryOut.of(memory)


@router.get("", response_model=MemoryPage)
async def list_memories(
    user: CurrentUser, container: ContainerDep, limit: Limit = 20, after: After = None
) -> MemoryPage:
    """Newest first; pass the previous page's `next_cursor` as `after`."""
    page = await container.long_term_memory().get_recent(user.id, limit, after)
    return MemoryPage(items=[MemoryOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@router.get("/search", response_model=MemorySearchOut)
async def search_memories(
    q: Q,
    user: CurrentUser,
    container: ContainerDep,
    k: K = 5,
    mode: Mode = "hybrid",
    kind: Kind = None,
) -> MemorySearchOut:
    """The best `k` by similarity, importance and recency, best first."""
    where = MemoryFilter(kind=kind)
    found = await container.long_term_memory().retrieve(user.id, q, k, where, mode)
    return MemorySearchOut(
        items=[ScoredMemoryOut.of(s) for s in found.items],
        mode=found.mode,
        degraded=found.degraded,
    )


@router.get("/{memory_id}", response_model=MemoryDetailOut)
async def get_memory(
    memory_id: UUID, user: CurrentUser, container: ContainerDep
) -> MemoryDetailOut:
    """One memory with its provenance (source, conversation and message, embedding model)."""
    return MemoryDetailOut.of(await container.long_term_memory().get(user.id, memory_id))


@router.patch("/{memory_id}", response_model=MemoryDetailOut)
async def correct_memory(
    memory_id: UUID, body: MemoryPatch, user: CurrentUser, container: ContainerDep
) -> MemoryDetailOut:
    """Correct a memory's content, metadata or importance; searchable as edited at once."""
    edit = MemoryEdit(content=body.content, metadata=body.metadata, importance=body.importance)
    return MemoryDetailOut.of(await container.long_term_memory().update(user.id, memory_id, edit))


@router.delete("/{memory_id}", status_code=status.HTTP_204_NO_CONTENT)
async def forget(memory_id: UUID, user: CurrentUser, container: ContainerDep) -> None:
    await container.long_term_memory().forget(user.id, memory_id)
