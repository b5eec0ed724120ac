"""In-process `MemoryRepository`: dict state, the same rules as the SQL one.

Lexical search is BM25 (k1 1.2, b 0.75, as SQLite FTS5 scores) over the same `search_text`
the SQL stores index, Snowball-stemmed as PostgreSQL's 'english' configuration stems, with
the query's stop words dropped the same way (`domain.memory.indexing.query_terms`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.indexing import index_text, query_terms
from domain.memory.long_term import IndexState, Memory
from domain.memory.long_term_ports import LexicalHit
from domain.pagination import Cursor, Page, clamp_page_size

WORD = re.compile(r"\w+", re.UNICODE)
K1, B = 1.2, 0.75


@cache
def _stemmer() -> Any:
    """The English Snowball stemmer, built on the first search (not with the container:
    issue #15, a cold start loads no stemmer it may never use)."""
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def _terms(text: str) -> list[str]:
    return [str(t) for t in _stemmer().stemWords([w.lower() for w in WORD.findall(text)])]


def _copy(m: Memory) -> Memory:
    return replace(
        m, metadata=dict(m.metadata), embedding=list(m.embedding) if m.embedding else None
    )


class InProcessMemoryRepository:
    def __init__(self) -> None:
        self.rows: dict[UUID, Memory] = {}
        self.deleted_at: dict[UUID, datetime] = {}
        self._terms: dict[UUID, tuple[str, Counter[str]]] = {}

    def _live(self, user_id: UUID) -> list[Memory]:
        return [
            m for m in self.rows.values() if m.user_id == user_id and m.id not in self.deleted_at
        ]

    async def add_many(self, items: Sequence[Memory]) -> None:
        for m in items:
            self.rows[m.id] = _copy(m)

    async def get_many(
        self, user_id: UUID, ids: Sequence[UUID], *, with_embeddings: bool = True
    ) -> list[Memory]:
        found = [self.rows[i] for i in ids if i in self.rows]
        live = [m for m in found if m.user_id == user_id and m.id not in self.deleted_at]
        if with_embeddings:
            return [_copy(m) for m in live]
        return [replace(m, metadata=dict(m.metadata), embedding=None) for m in live]

    async def page(self, user_id: UUID, limit: int, after: str | None = None) -> Page[Memory]:
        limit = clamp_page_size(limit)
        items = sorted(self._live(user_id), key=lambda m: (m.created_at, m.id), reverse=True)
        if after is not None:
            c = Cursor.decode(after)
            items = [m for m in items if (m.created_at, m.id) < (c.at, c.id)]
        page = [_copy(m) for m in items[:limit]]
        more = len(items) > limit
        return Page(page, Cursor(page[-1].created_at, page[-1].id).encode() if more else None)

    async def soft_delete(self, user_id: UUID, memory_id: UUID, at: datetime) -> bool:
        found = self.rows.get(memory_id)
        if found is None or found.user_id != user_id or memory_id in self.deleted_at:
            return False
        self.deleted_at[memory_id] = at
        found.index_state = IndexState.DELETING
        found.updated_at = at
        return True

    async def touch(self, user_id: UUID, ids: Sequence[UUID], at: datetime) -> None:
        wanted = set(ids)
        for m in self._live(user_id):
            if m.id in wanted:
                m.access_count += 1
                m.last_accessed_at = at

    async def lexical_search(
        self, user_id: UUID, query: str, k: int, where: MemoryFilter = ANY_MEMORY
    ) -> list[LexicalHit]:
        terms = set(_terms(" ".join(query_terms(query))))
        docs = [m for m in self._live(user_id) if where.matches(m)]
        if not terms or not docs or k <= 0:
            return []
        counts = {m.id: self._counts(m) for m in docs}
        lengths = {i: sum(c.values()) for i, c in counts.items()}
        average = sum(lengths.values()) / len(docs) or 1.0
        df = {t: sum(1 for c in counts.values() if t in c) for t in terms}
        hits = []
        for memory_id, c in counts.items():
            norm = K1 * (1 - B + B * lengths[memory_id] / average)
            score = sum(
                math.log(1 + (len(docs) - df[t] + 0.5) / (df[t] + 0.5))
                * c[t]
                * (K1 + 1)
                / (c[t] + norm)
                for t in terms
                if c[t]
            )
            if score > 0:
                hits.append(LexicalHit(memory_id, score))
        hits.sort(key=lambda h: (-h.rank, h.id))
        return hits[:k]

    def _counts(self, m: Memory) -> Counter[str]:
        """A memory's stemmed terms, cached by what it is indexed by."""
        indexed = index_text(m.content, m.context, m.metadata)
        cached = self._terms.get(m.id)
        if cached is None or cached[0] != indexed:
            cached = self._terms[m.id] = (indexed, Counter(_terms(indexed)))
        return cached[1]

    async def pending(self, limit: int) -> list[Memory]:
        items = [m for m in self.rows.values() if m.index_state is not IndexState.INDEXED]
        items.sort(key=lambda m: (m.created_at, m.id))
        return [_copy(m) for m in items[:limit]]

    async def mark_indexed(self, ids: Sequence[UUID]) -> None:
        for i in ids:
            m = self.rows.get(i)
            if m is not None and m.index_state is IndexState.PENDING:
                m.index_state = IndexState.INDEXED

    async def set_embeddings(
        self, vectors: dict[UUID, list[float]], model: str | None = None
    ) -> None:
        for i, v in vectors.items():
            if i in self.rows:
                self.rows[i].embedding = list(v)
                self.rows[i].embedding_model = model

    async def update(self, memory: Memory) -> bool:
        found = self.rows.get(memory.id)
        if found is None or found.user_id != memory.user_id or memory.id in self.deleted_at:
            return False
        kept = _copy(memory)
        kept.created_at, kept.access_count = found.created_at, found.access_count
        kept.last_accessed_at = found.last_accessed_at
        self.rows[memory.id] = kept
        return True

    async def embedded_by_other(
        self, user_id: UUID | None, model: str, after: UUID | None, limit: int
    ) -> list[Memory]:
        stale = [
            m
            for m in await self.all_for_reindex(user_id, after, len(self.rows) + 1)
            if m.embedding is None or m.embedding_model != model
        ]
        return stale[:limit]

    async def purge(self, ids: Sequence[UUID]) -> None:
        for i in ids:
            if i in self.deleted_at:
                self.rows.pop(i, None)
                self.deleted_at.pop(i, None)

    async def cleanup_candidates(
        self, user_id: UUID | None, older_than: datetime, max_importance: float, limit: int
    ) -> list[Memory]:
        items = [
            m
            for m in self.rows.values()
            if m.id not in self.deleted_at
            and (user_id is None or m.user_id == user_id)
            and m.created_at < older_than
            and m.importance < max_importance
        ]
        items.sort(key=lambda m: m.created_at)
        return [_copy(m) for m in items[:limit]]

    async def all_for_reindex(
        self, user_id: UUID | None, after: UUID | None, limit: int
    ) -> list[Memory]:
        items = sorted(
            (
                m
                for m in self.rows.values()
                if m.id not in self.deleted_at
                and (user_id is None or m.user_id == user_id)
                and (after is None or m.id > after)
            ),
            key=lambda m: m.id,
        )
        return [_copy(m) for m in items[:limit]]

    async def stats(self, user_id: UUID | None) -> dict[str, int]:
        out: dict[str, int] = {"total": 0}
        for m in self.rows.values():
            if user_id is not None and m.user_id != user_id:
                continue
            out[f"state:{m.index_state.value}"] = out.get(f"state:{m.index_state.value}", 0) + 1
            if m.id not in self.deleted_at:
                out["total"] += 1
                out[f"kind:{m.kind.value}"] = out.get(f"kind:{m.kind.value}", 0) + 1
        return out
