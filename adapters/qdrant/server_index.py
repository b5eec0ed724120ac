"""`MemoryIndex` on a Qdrant server (or qdrant-client's local mode, same API) via
`AsyncQdrantClient`.

One collection for every user, multitenant the way Qdrant recommends: a keyword payload
index on `user_id` with `is_tenant=True`, so the server lays out each tenant's points
together and a per-user search walks only that user's part of the index. Every read and
delete carries the owner's filter: a point id alone never reaches another user's memory.

The index can be rebuilt from the database, so a Qdrant server that is down is never fatal:
not at start-up (`ensure_ready` remembers the set-up to do and the first call that reaches
the server does it), not when it comes back empty (a missing collection is created again).
Meanwhile every call raises a retryable `ServiceUnavailable`: memories wait in the outbox.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from uuid import UUID

import structlog
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from adapters.embeddings.vectors import (
    dimension_mismatch,
    require_dim,
    stored_payload,
)
from domain.errors import ConfigurationError, ServiceUnavailable
from domain.health import AdapterHealth
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.long_term_ports import IndexedVector, VectorHit

TENANT_KEY = "user_id"
URL_VARIABLE = "QDRANT__URL"
log = structlog.get_logger("mai.qdrant")


class QdrantIndex:
    name = "qdrant"

    def __init__(
        self,
        client: AsyncQdrantClient,
        collection: str,
        *,
        hnsw_ef: int | None = None,
        batch_size: int = 256,
    ) -> None:
        """`hnsw_ef`: the search's candidate list (None: the collection's default)."""
        self._client = client
        self._collection = collection
        self._params = models.SearchParams(hnsw_ef=hnsw_ef) if hnsw_ef else None
        self._batch_size = batch_size
        self._dim: int | None = None
        self._ready = False  # the collection is known to exist with the right parameters

    async def ensure_ready(self, dim: int) -> None:
        """Create the collection and its tenant index if missing; check an existing one.

        A server that cannot be reached now is not an error: the first call that reaches it
        finishes the set-up (a collection of the wrong shape still is, when seen)."""
        self._dim = dim
        try:
            await self._set_up(dim)
        except ServiceUnavailable as exc:
            log.warning("qdrant_unavailable_at_start", error=exc.message, **exc.details)

    async def _ensured(self) -> None:
        """Finish a set-up the server was not there for (or redo it: it came back empty)."""
        if not self._ready and self._dim is not None:
            await self._set_up(self._dim)

    async def _set_up(self, dim: int) -> None:
        async with self._errors():
            if not await self._client.collection_exists(self._collection):
                await self._create(dim)
            info = await self._client.get_collection(self._collection)
            vectors = info.config.params.vectors
            if not isinstance(vectors, models.VectorParams):
                raise ConfigurationError(
                    f"The Qdrant collection {self._collection!r} uses named vectors; "
                    "it was not created by MAI. Set QDRANT__COLLECTION to another name.",
                    details={"variable": "QDRANT__COLLECTION"},
                )
            if vectors.size != dim:
                raise dimension_mismatch(dim, vectors.size, f"Qdrant {self._collection!r}")
            if vectors.distance != models.Distance.COSINE:
                raise ConfigurationError(
                    f"The Qdrant collection {self._collection!r} uses {vectors.distance} "
                    "distance, not Cosine. Set QDRANT__COLLECTION to another name.",
                    details={"variable": "QDRANT__COLLECTION"},
                )
            if TENANT_KEY not in (info.payload_schema or {}):
                await self._create_tenant_index()
        self._ready = True

    async def upsert(self, items: Sequence[IndexedVector]) -> None:
        for item in items:
            self._check_dim(item.vector)
        await self._ensured()
        async with self._errors():
            for start in range(0, len(items), self._batch_size):
                points = [_point(item) for item in items[start : start + self._batch_size]]
                await self._client.upsert(self._collection, points=points, wait=True)

    async def search(
        self,
        user_id: UUID,
        vector: Sequence[float],
        k: int,
        where: MemoryFilter = ANY_MEMORY,
    ) -> list[VectorHit]:
        conditions = _matches(where)
        if k <= 0:
            return []
        self._check_dim(vector)
        await self._ensured()
        async with self._errors():
            response = await self._client.query_points(
                self._collection,
                query=list(vector),
                query_filter=_owned_by(user_id, conditions),
                search_params=self._params,
                limit=k,
                with_payload=False,
            )
        return [VectorHit(UUID(str(p.id)), float(p.score)) for p in response.points]

    async def delete(self, user_id: UUID, ids: Sequence[UUID]) -> None:
        if not ids:
            return
        owned_ids = models.HasIdCondition(has_id=[str(i) for i in ids])
        await self._delete_where(_owned_by(user_id, [owned_ids]))

    async def delete_user(self, user_id: UUID) -> None:
        await self._delete_where(_owned_by(user_id))

    async def count(self, user_id: UUID | None = None) -> int:
        query_filter = None if user_id is None else _owned_by(user_id)
        await self._ensured()
        async with self._errors():
            found = await self._client.count(
                self._collection, count_filter=query_filter, exact=True
            )
        return found.count

    async def check(self) -> AdapterHealth:
        started = time.perf_counter()
        try:
            await self._ensured()
            async with self._errors():
                info = await self._client.get_collection(self._collection)
        except (ServiceUnavailable, ConfigurationError) as exc:
            return AdapterHealth("vector_index", False, self.name, exc.message, required=False)
        latency = (time.perf_counter() - started) * 1000
        detail = f"{self._collection}: {info.points_count or 0} points"
        return AdapterHealth("vector_index", True, self.name, detail, False, latency)

    # --- helpers -------------------------------------------------------------------------
    async def _create(self, dim: int) -> None:
        try:
            await self._client.create_collection(
                self._collection,
                vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
            )
        except (UnexpectedResponse, ValueError):
            # Another process created it between our check and our create: fine, as long as
            # it exists now (its parameters are checked by the caller).
            if not await self._client.collection_exists(self._collection):
                raise
        await self._create_tenant_index()

    async def _create_tenant_index(self) -> None:
        with warnings.catch_warnings():
            # Local mode warns that payload indexes do nothing there; a server uses them.
            warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
            await self._client.create_payload_index(
                self._collection,
                TENANT_KEY,
                field_schema=models.KeywordIndexParams(
                    type=models.KeywordIndexType.KEYWORD, is_tenant=True
                ),
                wait=True,
            )

    async def _delete_where(self, query_filter: models.Filter) -> None:
        await self._ensured()
        async with self._errors():
            await self._client.delete(
                self._collection,
                points_selector=models.FilterSelector(filter=query_filter),
                wait=True,
            )

    def _check_dim(self, vector: Sequence[float]) -> None:
        if self._dim is not None:
            require_dim(vector, self._dim, f"A vector sent to Qdrant {self._collection!r}")

    @asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        """Transport failures → `ServiceUnavailable`; a missing collection → not made ready."""
        try:
            yield
        except (ResponseHandlingException, OSError) as exc:
            raise ServiceUnavailable(
                "The Qdrant server is unreachable.",
                details={"variable": URL_VARIABLE, "cause": type(exc).__name__},
            ) from exc
        except UnexpectedResponse as exc:
            status = exc.status_code or 0
            if status == 404 and self._dim is not None:
                # Set up once, gone now: the server came back empty. Create it again on
                # the next call; the reconciler re-sends what is pending.
                self._ready = False
                raise ServiceUnavailable(
                    f"The Qdrant collection {self._collection!r} is gone; it is created "
                    "again on the next call (`mai memory reindex` restores older memories).",
                    details={"variable": URL_VARIABLE, "status": status},
                ) from exc
            if status == 404:
                raise self._not_ready() from exc
            raise ServiceUnavailable(
                f"The Qdrant server answered HTTP {status}.",
                details={"variable": URL_VARIABLE, "status": status},
                retryable=status == 429 or status >= 500,
            ) from exc
        except ValueError as exc:  # local mode reports a missing collection this way
            if "not found" in str(exc):
                raise self._not_ready() from exc
            raise

    def _not_ready(self) -> ConfigurationError:
        return ConfigurationError(
            f"The Qdrant collection {self._collection!r} does not exist: the vector index was "
            "not made ready (ensure_ready runs at start-up).",
            details={"variable": "QDRANT__COLLECTION"},
        )


def _point(item: IndexedVector) -> models.PointStruct:
    payload = {**stored_payload(item.payload), TENANT_KEY: str(item.user_id)}
    return models.PointStruct(id=str(item.id), vector=list(item.vector), payload=payload)


def _matches(where: MemoryFilter) -> list[models.Condition]:
    """A `MemoryFilter` as conditions on the payload `index_payload` stored."""
    return [
        models.FieldCondition(key=key, match=models.MatchValue(value=value))
        for key, value in where.payload().items()
    ]


def _owned_by(user_id: UUID, conditions: Sequence[models.Condition] = ()) -> models.Filter:
    owner = models.FieldCondition(key=TENANT_KEY, match=models.MatchValue(value=str(user_id)))
    return models.Filter(must=[owner, *conditions])
