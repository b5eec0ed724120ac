"""`MemoryIndex` on pgvector: the vectors live in `memories.embedding`, next to the truth.

The row is written first, by the repository; "upserting" a vector is an UPDATE of that row
(scoped by id AND owner, so a vector can never land on another user's memory), and deleting
one sets it NULL (removing rows is the repository's job). An upsert for a row that does not
exist (yet, or any more) changes nothing: the reconciler retries pending rows.

Search picks one of two plans per query, as Qdrant does with its full-scan threshold:

- **Exact**, for a user with fewer than `exact_below` vectors (nearly everyone): the user's
  rows through the `(user_id, created_at)` btree, distances computed, top-k sorted. At 1 % of
  a shared table this is both exact and faster than the HNSW index, which filters *after*
  its graph walk: measured at 100k rows / 100 users, the planner's own choice (HNSW with
  iterative scan) took 64–100 ms for recall 0.38 on random vectors; exact takes ~6–8 ms
  (BENCHMARKS.md: 6.2 ms raw, 7.5 ms through this adapter, recall 1.00).
- **HNSW** (`ORDER BY embedding <=> q LIMIT k`, the cosine index of migration 0001) for a
  user with more, with two pgvector settings set per transaction (SET LOCAL: nothing leaks
  into the shared pool's other connections): `hnsw.ef_search` (100 here; pgvector's 40 loses
  neighbours) and `hnsw.iterative_scan = relaxed_order` (pgvector ≥ 0.8), without which a
  filtered walk keeps only the candidates that pass the filter — measured: 0 of 10 rows for
  a filter matching 3 % of the table. Iterative scan walks on until k rows pass (up to
  `hnsw.max_scan_tuples`); "relaxed" order may be slightly out of order, so hits are
  re-sorted here.

Choosing costs no round trip: a count of the user's rows (bounded by `exact_below`) goes in
the same statement as the settings, and the answer is remembered per user for a few minutes
(counting visits the user's rows, which doubled the cost of a search at 1000 rows). The hot
path talks to asyncpg directly, on the pool's connection: SQLAlchemy's execution layer (and
its untyped `$1` for the vector) cost more than the query itself.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.embeddings.vectors import (
    DIM_VARIABLE,
    dimension_mismatch,
    require_dim,
)
from adapters.sql.database import Database
from adapters.sql.tables import memories
from domain.errors import ConfigurationError, ServiceUnavailable
from domain.health import AdapterHealth
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.long_term_ports import IndexedVector, VectorHit

_LIVE = "user_id = $2 AND deleted_at IS NULL AND embedding IS NOT NULL"
_COUNT = (
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM memories WHERE user_id = $1"
    " AND deleted_at IS NULL AND embedding IS NOT NULL LIMIT $2) AS mine)"
)
EXACT_QUERY = (
    "WITH mine AS MATERIALIZED (SELECT id, embedding <=> $1::real[]::vector AS distance"
    " FROM memories WHERE {where}) SELECT id, distance FROM mine ORDER BY distance LIMIT $3"
)
HNSW_QUERY = (
    "SELECT id, embedding <=> $1::real[]::vector AS distance FROM memories WHERE {where}"
    " ORDER BY embedding <=> $1::real[]::vector LIMIT $3"
)
UPSERT_STATEMENT = (  # a row already holding this vector is left alone: no dead tuple
    "UPDATE memories SET embedding = $1::real[]::vector WHERE id = $2 AND user_id = $3"
    " AND embedding IS DISTINCT FROM $1::real[]::vector"
)
_MAX_PLANS = 100_000  # remembered users; forgotten all at once past that (a cache, not state)
_CONNECTION_ERRORS = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)
_VECTOR_TYPE = re.compile(r"^vector\((\d+)\)$")
_VECTOR_LITERAL = re.compile(r"'\[[^\]]*\]'::vector")
_COLUMN_TYPE = text(
    "SELECT to_regclass('memories') IS NOT NULL, "
    "(SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
    " WHERE attrelid = to_regclass('memories') AND attname = 'embedding' AND NOT attisdropped)"
)
_EXTENSION = text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")


class PgVectorIndex:
    name = "pgvector"

    def __init__(
        self,
        db: Database,
        *,
        ef_search: int = 100,
        iterative_scan: str = "relaxed_order",
        exact_below: int = 10_000,
        settings: Mapping[str, str] | None = None,
        plan_ttl_seconds: float = 300.0,
    ) -> None:
        """`iterative_scan`: relaxed_order, strict_order or off (pgvector < 0.8 ignores it).
        `exact_below`: users with fewer vectors are searched exactly (0: always HNSW).
        `settings`: more planner settings for every search, e.g. `hnsw.max_scan_tuples`.
        `plan_ttl_seconds`: how long a user's plan is reused before their rows are counted
        again (the count visits up to `exact_below` rows; a stale plan is slower, never
        wrong)."""
        self._db = db
        self._exact_below = exact_below
        self._plan_ttl = plan_ttl_seconds
        self._plans: dict[UUID, tuple[bool, float]] = {}  # user -> (exact?, decided at)
        tuning = {"hnsw.ef_search": str(ef_search), "hnsw.iterative_scan": iterative_scan}
        tuning.update(settings or {})
        # Names and values of the settings are parameters of set_config, never SQL text.
        self._tuning = [part for pair in tuning.items() for part in pair]
        self._tune = "SELECT " + _set_configs(1, len(tuning))
        self._count_and_tune = f"{_COUNT}, {_set_configs(3, len(tuning))}"
        self._dim: int | None = None

    async def ensure_ready(self, dim: int) -> None:
        """Check that the migrated column fits `dim`: the schema is the migrations' job."""
        if self._db.dialect != "postgresql":
            raise ConfigurationError(
                "MEMORY__VECTOR_BACKEND=pgvector needs PostgreSQL (DATABASE__URL="
                "postgresql+asyncpg://…); use qdrant-edge with SQLite.",
                details={"variable": "MEMORY__VECTOR_BACKEND"},
            )
        async with self._connect() as conn:
            exists, column_type = (await conn.execute(_COLUMN_TYPE)).one()
        match = _VECTOR_TYPE.match(column_type or "")
        if not exists or match is None:
            raise ConfigurationError(
                "The memories.embedding vector column is missing: run `mai db upgrade`.",
                details={"variable": "DATABASE__URL", "found": column_type},
            )
        if int(match.group(1)) != dim:
            raise dimension_mismatch(dim, int(match.group(1)), "The memories.embedding column")
        self._dim = dim

    async def upsert(self, items: Sequence[IndexedVector]) -> None:
        if not items:
            return
        rows = [(self._checked(i.vector), i.id, i.user_id) for i in items]
        async with self._driver() as driver, driver.transaction():
            await driver.executemany(UPSERT_STATEMENT, rows)

    async def search(
        self,
        user_id: UUID,
        vector: Sequence[float],
        k: int,
        where: MemoryFilter = ANY_MEMORY,
    ) -> list[VectorHit]:
        clause, extra = where_clause(where)
        if k <= 0:
            return []
        args = [self._checked(vector), user_id, k, *extra]
        async with self._driver() as driver, driver.transaction():
            sql = await self._choose(driver, user_id, clause)
            rows = await driver.fetch(sql, *args)
        # relaxed_order may be slightly out of order: re-sort (k rows), ties broken by id.
        return [VectorHit(i, 1.0 - d) for d, i in sorted((r[1], r[0]) for r in rows)]

    async def explain(
        self,
        user_id: UUID,
        vector: Sequence[float],
        k: int = 10,
        where: MemoryFilter = ANY_MEMORY,
    ) -> str:
        """`EXPLAIN ANALYZE` of the plan `search` would run now (operators, tests)."""
        clause, extra = where_clause(where)
        args = [self._checked(vector), user_id, max(k, 1), *extra]
        async with self._driver() as driver, driver.transaction():
            sql = await self._choose(driver, user_id, clause)
            plan = await driver.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", *args)
        return _VECTOR_LITERAL.sub("$1", "\n".join(row[0] for row in plan))

    async def _choose(self, driver: asyncpg.Connection, user_id: UUID, where: str) -> str:
        """Apply the settings (SET LOCAL) and pick the exact or the HNSW query: one round
        trip, which also counts the user's rows when their plan is unknown or stale."""
        now = time.monotonic()
        known = self._plans.get(user_id)
        if self._exact_below <= 0:
            exact = False
            await driver.execute(self._tune, *self._tuning)
        elif known is not None and now - known[1] < self._plan_ttl:
            exact = known[0]
            await driver.execute(self._tune, *self._tuning)
        else:
            mine = await driver.fetchval(
                self._count_and_tune, user_id, self._exact_below, *self._tuning
            )
            exact = mine < self._exact_below
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[user_id] = (exact, now)
        return (EXACT_QUERY if exact else HNSW_QUERY).format(where=where)

    async def delete(self, user_id: UUID, ids: Sequence[UUID]) -> None:
        if ids:
            mine = (memories.c.user_id == user_id, memories.c.id.in_(list(ids)))
            await self._clear(*mine)

    async def delete_user(self, user_id: UUID) -> None:
        await self._clear(memories.c.user_id == user_id, memories.c.embedding.is_not(None))

    async def count(self, user_id: UUID | None = None) -> int:
        """Searchable vectors: non-null embeddings of live (not soft-deleted) rows."""
        conditions: list[ColumnElement[bool]] = [
            memories.c.embedding.is_not(None),
            memories.c.deleted_at.is_(None),
        ]
        if user_id is not None:
            conditions.append(memories.c.user_id == user_id)
        async with self._connect() as conn:
            found = await conn.scalar(select(func.count()).select_from(memories).where(*conditions))
        return int(found or 0)

    async def check(self) -> AdapterHealth:
        started = time.perf_counter()
        try:
            async with self._connect() as conn:
                version = await conn.scalar(_EXTENSION)
        except ServiceUnavailable as exc:
            return AdapterHealth("vector_index", False, self.name, exc.message, required=False)
        if version is None:
            detail = "the vector extension is not installed: run `mai db upgrade`"
            return AdapterHealth("vector_index", False, self.name, detail, required=False)
        latency = (time.perf_counter() - started) * 1000
        return AdapterHealth("vector_index", True, self.name, f"pgvector {version}", False, latency)

    # --- helpers -------------------------------------------------------------------------
    def _checked(self, vector: Sequence[float]) -> list[float]:
        """The vector as a query parameter: a `real[]` cast to `vector` in SQL, because
        asyncpg encodes a float array in binary for free, where pgvector's text form costs
        ~0.3 ms of float formatting per 384-d vector. Its size is checked here: the column
        would reject a wrong one too, but without naming the setting to fix."""
        if self._dim is not None:
            require_dim(vector, self._dim, "A vector sent to the pgvector index")
        return vector if isinstance(vector, list) else list(vector)

    async def _clear(self, *conditions: ColumnElement[bool]) -> None:
        async with self._connect() as conn:
            await conn.execute(update(memories).where(*conditions).values(embedding=None))
            await conn.commit()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection whose driver errors become `MAIError`s."""
        try:
            async with self._db.engine.connect() as conn:
                yield conn
        except (DataError, asyncpg.DataError) as exc:
            if "dimensions" not in str(exc):
                raise
            # A vector of the wrong size reached the column (ensure_ready was not called).
            raise ConfigurationError(str(exc), details={"variable": DIM_VARIABLE}) from exc
        except (*_CONNECTION_ERRORS, OperationalError, InterfaceError, PoolTimeout) as exc:
            raise ServiceUnavailable(
                "The vector index (PostgreSQL + pgvector) is unavailable.",
                details={"backend": "pgvector", "cause": type(exc).__name__},
            ) from exc

    @asynccontextmanager
    async def _driver(self) -> AsyncIterator[asyncpg.Connection]:
        """The asyncpg connection under a pooled one. SQLAlchemy has no transaction open on
        it, so asyncpg's own are safe; the pool resets the connection on release."""
        async with self._connect() as conn:
            raw = await conn.get_raw_connection()
            yield raw.driver_connection


def _set_configs(first: int, count: int) -> str:
    """`set_config($first, $first+1, true), …`: SET LOCAL with parameters."""
    return ", ".join(
        f"set_config(${n}, ${n + 1}, true)" for n in range(first, first + 2 * count, 2)
    )


def where_clause(where: MemoryFilter) -> tuple[str, list[Any]]:
    """A `MemoryFilter` as the WHERE clause over `$1` vector, `$2` owner, `$3` k, then one
    `$n` per field it sets (its one translation here)."""
    clauses: list[str] = [_LIVE]
    values: list[Any] = []
    if where.kind is not None:
        clauses.append(f"kind = ${4 + len(values)}")
        values.append(where.kind.value)
    return " AND ".join(clauses), values
