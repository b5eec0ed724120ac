"""Qdrant as the vector index of long-term memory (the `MemoryIndex` port).

`QdrantIndex(client, collection)` talks to a Qdrant server through `AsyncQdrantClient`
(or its local mode, which the tests use); `QdrantEdgeIndex(path, dim)` runs the Qdrant
engine in this process on one on-disk shard (the embedded profile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from adapters.qdrant.edge_index import QdrantEdgeIndex
    from adapters.qdrant.server_index import QdrantIndex

__all__ = ["QdrantEdgeIndex", "QdrantIndex"]

# Imported on first use (PEP 562): the embedded profile's Qdrant Edge must not pull in
# qdrant_client + grpc (about 1 s of the cold start, issue #15), nor the server the engine.
__getattr__ = lazy_exports(
    __name__,
    {
        "QdrantEdgeIndex": "adapters.qdrant.edge_index",
        "QdrantIndex": "adapters.qdrant.server_index",
    },
)
