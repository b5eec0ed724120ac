"""Long-term memory over GraphQL: the `memories` query (recent, or a search when `query` is
given), `memory(id)` with its provenance, and the `remember` / `updateMemory` / `forget`
mutations (`updateMemory` answers once the edit is re-embedded and re-indexed). A user
reaches only their own memories; anyone else's id is NOT_FOUND, as a missing one is."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from application.memory import MemoryEdit, MemoryFilter, NewMemory
from domain.errors import ValidationFailed
from entrypoints.graphql.context import Context
from entrypoints.graphql.types import (
    MemoryConnection,
    MemoryKindEnum,
    MemorySearchMode,
    MemoryType,
    parse_id,
)

MEMORIES_DOC = (
    "Without `query`: your memories, newest first, paged by `first`/`after`. With `query`: "
    "the best `k` by similarity, importance and recency, each with its `score`, in one page "
    "(`mode` and `kind` shape the search; `degraded` is true when only lexical search ran)."
)


@strawberry.type
class MemoryQuery:
    @strawberry.field(description=MEMORIES_DOC)
    async def memories(
        self,
        info: Info[Context, None],
        query: str | None = None,
        k: int = 5,
        first: int = 20,
        after: str | None = None,
        mode: MemorySearchMode = MemorySearchMode.HYBRID,
        kind: MemoryKindEnum | None = None,
    ) -> MemoryConnection:
        user = await info.context.require_user()
        memory = info.context.container.long_term_memory()
        if query is None:
            page = await memory.get_recent(user.id, first, after)
            return MemoryConnection(
                items=[MemoryType.of(m) for m in page.items], next_cursor=page.next_cursor
            )
        if after is not None:
            raise ValidationFailed(
                "A search returns one page: `after` pages recent memories only.",
                details={"field": "after"},
            )
        where = MemoryFilter(kind=None if kind is None else kind.domain())
        found = await memory.retrieve(user.id, query, k, where, mode.value)
        return MemoryConnection(
            items=[MemoryType.found(s) for s in found.items],
            mode=MemorySearchMode(found.mode),
            degraded=found.degraded,
        )

    @strawberry.field(description="One of your memories, with its provenance.")
    async def memory(self, info: Info[Context, None], id: strawberry.ID) -> MemoryType:
        user = await info.context.require_user()
        memory = info.context.container.long_term_memory()
        return MemoryType.of(await memory.get(user.id, parse_id(id, "id")))


@strawberry.type
class MemoryMutation:
    @strawberry.mutation(
        description="Remember `content`; without `importance` (0..1) it is scored for you."
    )
    async def remember(
        self,
        info: Info[Context, None],
        content: str,
        metadata: JSON | None = None,
        importance: float | None = None,
        kind: MemoryKindEnum = MemoryKindEnum.EPISODIC,
    ) -> MemoryType:
        user = await info.context.require_user()
        item = NewMemory(
            content=content,
            kind=kind.domain(),
            importance=importance,
            metadata=_metadata(metadata),
        )
        return MemoryType.of(await info.context.container.long_term_memory().store(user.id, item))

    @strawberry.mutation(
        description="Correct one of your memories (the fields given replace its own); "
        "searchable as edited when this answers."
    )
    async def update_memory(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        content: str | None = None,
        metadata: JSON | None = None,
        importance: float | None = None,
    ) -> MemoryType:
        user = await info.context.require_user()
        edit = MemoryEdit(
            content=content,
            metadata=None if metadata is None else _metadata(metadata),
            importance=importance,
        )
        memory = info.context.container.long_term_memory()
        return MemoryType.of(await memory.update(user.id, parse_id(id, "id"), edit))

    @strawberry.mutation(description="Forget one of your memories; true when it is gone.")
    async def forget(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        user = await info.context.require_user()
        await info.context.container.long_term_memory().forget(user.id, parse_id(id, "id"))
        return True


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed("metadata must be a JSON object.", details={"field": "metadata"})
    return value
