"""`lazy(module, name)`: a factory that imports its class on first call.

The capability containers name what they build this way when its module pulls in a heavy
library: the drivers a profile does not use (redis, qdrant_client + grpc, pgvector, DBOS)
are then never imported, and what it does use (Pydantic AI for the chat turn, SQLAlchemy
for the SQL stores, PyJWT) is imported when first built, not with the container: importing
`container` stays cheap, so `mai health` pays for the health checks alone (issue #15).

The class is looked up once; later calls cost one attribute read more than a direct call
(factories of the request path, e.g. `send_message`, are called per request).
"""

from __future__ import annotations

import importlib
from typing import Any


def lazy(module: str, name: str) -> Any:
    """`module.name`, imported when first called (with the arguments it is called with)."""
    found: Any = None

    def build(*args: Any, **kwargs: Any) -> Any:
        nonlocal found
        if found is None:
            found = getattr(importlib.import_module(module), name)
        return found(*args, **kwargs)

    build.__qualname__ = build.__name__ = name
    build.__module__ = module
    return build
