"""Keys of the intermediate results cache.

A stage's output is reused only for the same pipeline, stage, stage `version` and the
same input, compared as canonical JSON (sorted keys, no whitespace) hashed with sha256.
Names are percent-encoded so `:` inside a name cannot make two keys collide, and a
pipeline's (or one stage's) entries share a prefix for `Cache.delete_prefix`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter

__all__ = ["cache_prefix", "canonical_json", "stage_cache_key"]

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def canonical_json(value: Any) -> str:
    """One text per value, whatever the dict order; raises
    `pydantic_core.PydanticSerializationError` when `value` is not JSON-serialisable
    (the stage is then simply not cached)."""
    plain = _ANY.dump_python(value, mode="json")
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_prefix(pipeline: str, stage: str | None = None) -> str:
    prefix = f"pipeline:{quote(pipeline, safe='')}:"
    return prefix if stage is None else f"{prefix}{quote(stage, safe='')}:"


def stage_cache_key(pipeline: str, stage: str, version: str, input: Any) -> str:
    digest = hashlib.sha256(canonical_json(input).encode()).hexdigest()
    return f"{cache_prefix(pipeline, stage)}{quote(version, safe='')}:{digest}"
