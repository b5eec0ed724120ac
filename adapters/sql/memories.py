"""Memories in PostgreSQL / SQLite: the source of truth, with full-text search.

Lexical search ORs the query's content words (`domain.memory.indexing.query_terms`: stop
words dropped) over `search_text` — the content with its context and dates — stemmed on
both sides: PostgreSQL `to_tsquery('english', 'a | b')` ranked by `ts_rank` (over at most
`RANK_CAP` of the user's newest matches); SQLite FTS5
(`porter unicode61`) `"a" OR "b"` ranked by bm25. In hybrid retrieval its job is recall on
names, dates, numbers and rarer words, which dense vectors miss.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    column,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy import delete as sql_delete

from adapters.sql.database import Database
from adapters.sql.sqlite_search import SqliteMemorySearch
from adapters.sql.tables import memories
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.indexing import index_text, query_terms
from domain.memory.long_term import IndexState, Memory, MemoryKind, MemorySource
from domain.memory.long_term_ports import LexicalHit
from domain.pagination import Cursor, Page, clamp_page_size

_t = memories.c
#: PostgreSQL ranks (`ts_rank`, which reads each row's tsvector) at most this many matches
#: of a query, the user's newest: a query of common words must not cost O(matching rows).
#: Far above what one conversation holds (LoCoMo: ~550 turns per user).
RANK_CAP = 1_000


def to_memory(row: Mapping[Any, Any]) -> Memory:
    return Memory(
        id=row["id"],
        user_id=row["user_id"],
        content=row["content"],
        kind=MemoryKind(row["kind"]),
        importance=row["importance"],
        metadata=row["metadata"] or {},
        embedding=row.get("embedding"),
        access_count=row["access_count"],
        last_accessed_at=row["last_accessed_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        source_conversation_id=row["source_conversation_id"],
        source_message_id=row["source_message_id"],
        index_state=IndexState(row["index_state"]),
        source=MemorySource(row["source"]),
        embedding_model=row["embedding_model"],
        context=row["context"] or "",
    )


def _values(m: Memory) -> dict[str, Any]:
    return {
        "id": m.id,
        "user_id": m.user_id,
        "content": m.content,
        "kind": m.kind.value,
        "importance": m.importance,
        "metadata": m.metadata,
        "embedding": m.embedding,
        "access_count": m.access_count,
        "last_accessed_at": m.last_accessed_at,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "source_conversation_id": m.source_conversation_id,
        "source_message_id": m.source_message_id,
        "index_state": m.index_state.value,
        "source": m.source.value,
        "embedding_model": m.embedding_model,
        "context": m.context,
        "search_text": index_text(m.content, m.context, m.metadata),
    }


def _live(user_id: UUID) -> ColumnElement[bool]:
    return and_(_t.user_id == user_id, _t.deleted_at.is_(None))


def narrowed(where: MemoryFilter) -> list[ColumnElement[bool]]:
    """A `MemoryFilter` as SQL conditions on `memories` (its one translation here)."""
    return [] if where.kind is None else [_t.kind == where.kind.value]


@functools.lru_cache(maxsize=16)
def _fts5_search(where: MemoryFilter) -> Select[tuple[UUID, float]]:
    """SQLite's lexical search, one statement per filter (binds: owner, match, k): FTS5
    finds, bm25 ranks (higher is better), ties by id."""
    fts = table("memories_fts", column("rowid"))
    fts_name: ColumnElement[Any] = literal_column("memories_fts")
    rank: ColumnElement[float] = -func.bm25(fts_name)
    owner = bindparam("owner", type_=_t.user_id.type)
    return (
        select(_t.id, rank.label("rank"))
        .select_from(memories)
        .join(fts, fts.c.rowid == literal_column("memories.rowid"))
        .where(_t.user_id == owner, _t.deleted_at.is_(None), *narrowed(where))
        .where(fts_name.op("MATCH")(bindparam("match")))
        .order_by(literal_column("rank").desc(), _t.id)
        .limit(bindparam("k"))
    )


#: `+memories.user_id`: the owner's column as SQLite's planner must not use an index for.
_OWNER_UNINDEXED = literal_column("+memories.user_id", type_=_t.user_id.type)


class SqlMemoryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        # What every search does twice, on SQLite without SQLAlchemy's execution layer.
        self._sqlite = SqliteMemorySearch(db, to_memory) if db.dialect == "sqlite" else None

    def _live_among(self, user_id: UUID, ids: Sequence[UUID]) -> ColumnElement[bool]:
        """The owner's live memories among `ids`, looked up by primary key. SQLite has no
        statistics unless ANALYZE ran, and without them it prefers the `(user_id,
        created_at)` index to `id IN (…)`: it walked all of a user's rows to find 30
        (measured: 15 ms at 10k rows, half of a search). `+user_id` rules that index out
        for this condition only; PostgreSQL plans by its statistics and needs no hint."""
        owner = _OWNER_UNINDEXED if self._db.dialect == "sqlite" else _t.user_id
        return and_(owner == user_id, _t.deleted_at.is_(None), _t.id.in_(list(ids)))

    async def add_many(self, items: Sequence[Memory]) -> None:
        if items:
            async with self._db.transaction() as tx:
                await tx.execute(insert(memories), [_values(m) for m in items])

    async def get_many(
        self, user_id: UUID, ids: Sequence[UUID], *, with_embeddings: bool = True
    ) -> list[Memory]:
        if not ids:
            return []
        if self._sqlite is not None and not with_embeddings:
            return await self._sqlite.get_many(user_id, ids)
        columns = (
            memories.c if with_embeddings else [c for c in memories.c if c is not _t.embedding]
        )
        query = select(*columns).where(self._live_among(user_id, ids))
        async with self._db.transaction() as tx:
            found = {r["id"]: to_memory(r) for r in (await tx.execute(query)).mappings()}
        return [found[i] for i in ids if i in found]

    async def page(self, user_id: UUID, limit: int, after: str | None = None) -> Page[Memory]:
        limit = clamp_page_size(limit)
        query = select(memories).where(_live(user_id))
        if after is not None:
            c = Cursor.decode(after)
            query = query.where(
                or_(_t.created_at < c.at, and_(_t.created_at == c.at, _t.id < c.id))
            )
        query = query.order_by(_t.created_at.desc(), _t.id.desc()).limit(limit + 1)
        async with self._db.transaction() as tx:
            items = [to_memory(r) for r in (await tx.execute(query)).mappings()]
        if len(items) <= limit:
            return Page(items, None)
        last = items[limit - 1]
        return Page(items[:limit], Cursor(last.created_at, last.id).encode())

    async def soft_delete(self, user_id: UUID, memory_id: UUID, at: datetime) -> bool:
        stmt = (
            update(memories)
            .where(_live(user_id), _t.id == memory_id)
            .values(deleted_at=at, updated_at=at, index_state=IndexState.DELETING.value)
        )
        async with self._db.transaction() as tx:
            return (await tx.execute(stmt)).rowcount == 1

    async def touch(self, user_id: UUID, ids: Sequence[UUID], at: datetime) -> None:
        if ids and self._sqlite is not None:
            await self._sqlite.touch(user_id, ids, at)
        elif ids:
            stmt = (
                update(memories)
                .where(self._live_among(user_id, ids))
                .values(access_count=_t.access_count + 1, last_accessed_at=at)
            )
            async with self._db.transaction() as tx:
                await tx.execute(stmt)

    async def lexical_search(
        self, user_id: UUID, query: str, k: int, where: MemoryFilter = ANY_MEMORY
    ) -> list[LexicalHit]:
        words = query_terms(query)
        if not words or k <= 0:
            return []
        if self._sqlite is not None:
            match = " OR ".join(f'"{w}"' for w in words)
            statement = _fts5_search(where)
            return await self._sqlite.lexical(statement, {"owner": user_id, "match": match, "k": k})
        tsq = func.to_tsquery("english", " | ".join(words))
        tsv: ColumnElement[Any] = literal_column("memories.search_tsv")
        found = (  # materialized: the planner must not walk (user, created_at) for it
            select(_t.id, _t.created_at, tsv.label("tsv"))
            .where(_live(user_id), *narrowed(where), tsv.op("@@")(tsq))
            .cte("found")
            .prefix_with("MATERIALIZED")
        )
        matched = (  # the GIN index finds; only the newest RANK_CAP matches are ranked
            select(found.c.id, found.c.tsv)
            .order_by(found.c.created_at.desc())
            .limit(RANK_CAP)
            .subquery()
        )
        rank: ColumnElement[Any] = func.ts_rank(matched.c.tsv, tsq)
        stmt = (
            select(matched.c.id, rank.label("rank"))
            .order_by(literal_column("rank").desc(), matched.c.id)
            .limit(k)
        )
        async with self._db.transaction() as tx:
            rows = (await tx.execute(stmt)).all()
        return [LexicalHit(row[0], float(row[1])) for row in rows]

    async def pending(self, limit: int) -> list[Memory]:
        query = (
            select(memories)
            .where(_t.index_state != IndexState.INDEXED.value)
            .order_by(_t.created_at, _t.id)
            .limit(limit)
        )
        async with self._db.transaction() as tx:
            return [to_memory(r) for r in (await tx.execute(query)).mappings()]

    async def mark_indexed(self, ids: Sequence[UUID]) -> None:
        if ids:
            stmt = (
                update(memories)
                .where(_t.id.in_(list(ids)), _t.index_state == IndexState.PENDING.value)
                .values(index_state=IndexState.INDEXED.value)
            )
            async with self._db.transaction() as tx:
                await tx.execute(stmt)

    async def set_embeddings(
        self, vectors: dict[UUID, list[float]], model: str | None = None
    ) -> None:
        if vectors:
            stmt = (
                update(memories)
                .where(_t.id == bindparam("mid"))
                .values(embedding=bindparam("vec"), embedding_model=model)
            )
            async with self._db.transaction() as tx:
                await tx.execute(stmt, [{"mid": i, "vec": v} for i, v in vectors.items()])

    async def purge(self, ids: Sequence[UUID]) -> None:
        if ids:
            stmt = sql_delete(memories).where(_t.id.in_(list(ids)), _t.deleted_at.is_not(None))
            async with self._db.transaction() as tx:
                await tx.execute(stmt)

    async def cleanup_candidates(
        self, user_id: UUID | None, older_than: datetime, max_importance: float, limit: int
    ) -> list[Memory]:
        query = select(memories).where(
            _t.deleted_at.is_(None), _t.created_at < older_than, _t.importance < max_importance
        )
        if user_id is not None:
            query = query.where(_t.user_id == user_id)
        async with self._db.transaction() as tx:
            rows = (await tx.execute(query.order_by(_t.created_at).limit(limit))).mappings()
            return [to_memory(r) for r in rows]

    async def all_for_reindex(
        self, user_id: UUID | None, after: UUID | None, limit: int
    ) -> list[Memory]:
        query = select(memories).where(_t.deleted_at.is_(None))
        if user_id is not None:
            query = query.where(_t.user_id == user_id)
        if after is not None:
            query = query.where(_t.id > after)
        async with self._db.transaction() as tx:
            rows = (await tx.execute(query.order_by(_t.id).limit(limit))).mappings()
            return [to_memory(r) for r in rows]

    async def update(self, memory: Memory) -> bool:
        """Write an edited memory back (content, metadata, importance, context, embedding,
        index state, updated time); False when it is not the owner's live memory."""
        values = _values(memory)
        for key in ("id", "user_id", "created_at", "access_count", "last_accessed_at"):
            values.pop(key)
        stmt = update(memories).where(_live(memory.user_id), _t.id == memory.id).values(values)
        async with self._db.transaction() as tx:
            return (await tx.execute(stmt)).rowcount == 1

    async def embedded_by_other(
        self, user_id: UUID | None, model: str, after: UUID | None, limit: int
    ) -> list[Memory]:
        query = select(memories).where(
            _t.deleted_at.is_(None),
            or_(_t.embedding_model.is_(None), _t.embedding_model != model),
        )
        if user_id is not None:
            query = query.where(_t.user_id == user_id)
        if after is not None:
            query = query.where(_t.id > after)
        async with self._db.transaction() as tx:
            rows = (await tx.execute(query.order_by(_t.id).limit(limit))).mappings()
            return [to_memory(r) for r in rows]

    async def stats(self, user_id: UUID | None) -> dict[str, int]:
        query = select(_t.kind, _t.index_state, _t.deleted_at.is_(None), func.count()).group_by(
            _t.kind, _t.index_state, _t.deleted_at.is_(None)
        )
        if user_id is not None:
            query = query.where(_t.user_id == user_id)
        out: dict[str, int] = {"total": 0}
        async with self._db.transaction() as tx:
            for kind, state, live, n in (await tx.execute(query)).all():
                out[f"state:{state}"] = out.get(f"state:{state}", 0) + n
                if live:
                    out["total"] += n
                    out[f"kind:{kind}"] = out.get(f"kind:{kind}", 0) + n
        return out
