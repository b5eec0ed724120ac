"""Vector plumbing every embedder and vector index shares: dimensions, norms, payloads.

One place decides what a dimension mismatch looks like to an operator: a
`ConfigurationError` naming `MEMORY__EMBEDDING_DIM`, because the fix is always the same
setting (or a re-migration / re-index after changing it), whichever adapter noticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import numpy as np
import numpy.typing as npt

from domain.errors import ConfigurationError

if TYPE_CHECKING:
    from domain.memory.long_term_ports import Embedder

DIM_VARIABLE = "MEMORY__EMBEDDING_DIM"

#: The text embedded by `check_dimension`: short, so the probe costs one small inference.
PROBE_TEXT = "dimension check"


def dimension_mismatch(expected: int, actual: int, where: str) -> ConfigurationError:
    """The error for vectors of `actual` dimensions where `expected` are configured."""
    return ConfigurationError(
        f"{where} has {actual}-dimensional vectors but {DIM_VARIABLE} is {expected}. Set "
        f"{DIM_VARIABLE}={actual}, or use an embedding model / index of {expected} dimensions "
        f"(changing it needs a re-index; for pgvector, a new migration).",
        details={"variable": DIM_VARIABLE, "expected": expected, "actual": actual},
    )


def require_dim(vector: Sequence[float], expected: int, where: str) -> None:
    if len(vector) != expected:
        raise dimension_mismatch(expected, len(vector), where)


VectorLike = Sequence[float] | Sequence[Sequence[float]] | npt.NDArray[Any]


def as_unit_rows(vectors: VectorLike) -> npt.NDArray[np.float32]:
    """A float32 matrix whose rows have unit L2 norm (zero rows stay zero); one vector
    becomes a one-row matrix."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = np.divide(
        matrix, norms, out=np.zeros_like(matrix), where=norms > 0
    )
    return unit


def unit_lists(vectors: VectorLike) -> list[list[float]]:
    """`as_unit_rows` as plain Python lists: what the `Embedder` port hands out."""
    rows: list[list[float]] = as_unit_rows(vectors).tolist()
    return rows


async def check_dimension(embedder: Embedder, expected: int) -> None:
    """Fail start-up early when the embedder's vectors do not fit the configured index.

    Checks both the dimension the embedder declares and the length of a real embedding, so
    a server that swapped its model behind the same name is caught too.
    """
    where = f"The embedder {type(embedder).__name__}"
    if embedder.dim != expected:
        raise dimension_mismatch(expected, embedder.dim, where)
    probe = await embedder.embed_query(PROBE_TEXT)
    require_dim(probe, expected, where)


def stored_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload as indexes store it: JSON values only (UUIDs as strings)."""
    return {key: str(value) if isinstance(value, UUID) else value for key, value in payload.items()}
