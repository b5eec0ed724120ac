"""`lazy_exports(package, where)`: a package's `__getattr__` (PEP 562) that imports each
name it exports from its module on first use, so importing the package loads none of them
(issue #15: `adapters.qdrant`, `adapters.lmstudio` and `adapters.embeddings` export adapters
whose modules pull in grpc, the OpenAI SDK or numpy).

    __getattr__ = lazy_exports(__name__, {"QdrantIndex": "adapters.qdrant.server_index"})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """`where` maps each exported name to the module that defines it."""

    def getattr_(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return getattr_
