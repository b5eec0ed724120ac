"""Qdrant as the vector index of long-term memory (the `MemoryIndex` port).

`QdrantIndex(client, collection)` talks to a Qdrant server through `AsyncQdrantClient`
(or its local mode, which the tests use); `QdrantEdgeIndex(path, dim)` runs the Qdrant
engine in this process on one on-disk shard (the embedded profile).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.qdrant.edge_index import QdrantEdgeIndex
    from adapters.qdrant.server_index import QdrantIndex

__all__ = ["QdrantEdgeIndex", "QdrantIndex"]

# Imported on first use (PEP 562): the embedded profile's Qdrant Edge must not pull in
# qdrant_client + grpc (about 1 s of the cold start, issue #15), nor the server the engine.
_WHERE = {
    "QdrantEdgeIndex": "adapters.qdrant.edge_index",
    "QdrantIndex": "adapters.qdrant.server_index",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
