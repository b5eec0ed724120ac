"""How the runtime opens and closes this package's indexes: a Qdrant server (or
qdrant-client's local mode) and the in-process Qdrant Edge shard. Each is an async context
manager the container makes a `Resource` of.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.settings import QdrantSettings

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient

    from adapters.qdrant.edge_index import QdrantEdgeIndex
    from adapters.qdrant.server_index import QdrantIndex


def qdrant_client(settings: QdrantSettings) -> AsyncQdrantClient:
    """QDRANT__URL: `http(s)://…` a server (with QDRANT__API_KEY); `:memory:` the client's
    local mode in memory; anything else a local-mode directory."""
    from qdrant_client import AsyncQdrantClient  # qdrant_client + grpc: only if chosen

    url = settings.url
    if url.startswith(("http://", "https://")):
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return AsyncQdrantClient(url=url, api_key=key)
    if url == ":memory:":
        return AsyncQdrantClient(location=url)
    return AsyncQdrantClient(path=url)


@asynccontextmanager
async def open_qdrant_index(settings: QdrantSettings, dim: int) -> AsyncIterator[QdrantIndex]:
    """The QDRANT__COLLECTION collection, created for `dim`-sized vectors if missing."""
    from adapters.qdrant.server_index import QdrantIndex

    client = qdrant_client(settings)
    try:
        index = QdrantIndex(client, settings.collection)
        await index.ensure_ready(dim)
        yield index
    finally:
        await client.close()


@asynccontextmanager
async def open_qdrant_edge_index(path: Path, dim: int) -> AsyncIterator[QdrantEdgeIndex]:
    """The shard at `path`, which one process holds at a time: closing releases its lock
    for the next process."""
    from adapters.qdrant.edge_index import QdrantEdgeIndex

    index = QdrantEdgeIndex(path, dim)
    try:
        await index.ensure_ready(dim)
        yield index
    finally:
        await index.aclose()
