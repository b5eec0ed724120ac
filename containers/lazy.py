"""`lazy(module, name)`: a factory that imports its class on first call.

The drivers a profile does not use (redis, qdrant_client + grpc, pgvector, DBOS) are then
never imported: a cold start pays only for what it runs (issue #15).
"""

from __future__ import annotations

import importlib
from typing import Any


def lazy(module: str, name: str) -> Any:
    """`module.name`, imported when first called (with the arguments it is called with)."""

    def build(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    build.__qualname__ = build.__name__ = name
    return build
