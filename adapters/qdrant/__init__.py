"""Qdrant as the vector index of long-term memory (the `MemoryIndex` port).

`QdrantIndex(client, collection)` talks to a Qdrant server through `AsyncQdrantClient`
(or its local mode, which the tests use); `QdrantEdgeIndex(path, dim)` runs the Qdrant
engine in this process on one on-disk shard (the embedded profile).
"""

from __future__ import annotations

from adapters.qdrant.edge_index import QdrantEdgeIndex
from adapters.qdrant.server_index import QdrantIndex

__all__ = ["QdrantEdgeIndex", "QdrantIndex"]
