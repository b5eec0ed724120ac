"""Long-term memory: the memories (database, the truth), their vector index and embedder
(chosen by MEMORY__VECTOR_BACKEND and LM_STUDIO__EMBEDDING_MODEL), and its use-cases.

The index and the embedder are opened by the runtime only where memory is used: CLI
commands that do not need it leave the embedded Qdrant Edge shard to the server holding it,
and chat then runs without long-term memory (`memory_when_open`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dependency_injector import containers, providers

from adapters.embeddings.resources import open_embedder
from adapters.inprocess.memories import InProcessMemoryRepository
from adapters.settings import Settings
from application import memory
from containers.lazy import lazy
from domain.memory.long_term import RankingWeights
from domain.memory.long_term_ports import Embedder, MemoryIndex
from domain.ports import Clock

# SQLAlchemy (the SQL store) and Pydantic AI (the LLM scorer and fact extractor, agents
# both): imported when first built (issue #15).
if TYPE_CHECKING:  # the classes, for the type checker; built lazily at run time
    from adapters.sql.database import Database
    from adapters.sql.memories import SqlMemoryRepository
    from application.facts import FactExtractor, LLMImportanceScorer
else:
    SqlMemoryRepository = lazy("adapters.sql.memories", "SqlMemoryRepository")
    LLMImportanceScorer = lazy("application.facts", "LLMImportanceScorer")
    FactExtractor = lazy("application.facts", "FactExtractor")


def _open_memory_index(
    settings: Settings, database: Database | None
) -> AbstractAsyncContextManager[MemoryIndex]:
    """The vector index MEMORY__VECTOR_BACKEND names, ready for MEMORY__EMBEDDING_DIM (the
    drivers of the backends not chosen are never imported)."""
    backend, dim = settings.memory.vector_backend, settings.memory.embedding_dim
    if backend == "pgvector":
        from adapters.sql.resources import open_pgvector_index

        return open_pgvector_index(database, dim)
    if backend == "qdrant":
        from adapters.qdrant.resources import open_qdrant_index

        return open_qdrant_index(settings.qdrant, dim)
    if backend == "qdrant-edge":
        from adapters.qdrant.resources import open_qdrant_edge_index

        return open_qdrant_edge_index(Path(settings.data_dir) / "qdrant-edge", dim)
    from adapters.inprocess.vector_index import InProcessVectorIndex  # numpy: when used

    return nullcontext(InProcessVectorIndex(dim))


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
        memory=providers.Singleton(InProcessMemoryRepository),
    )
    # Tests override the index and the embedder with fakes.
    memory_index: providers.Provider[MemoryIndex] = providers.Resource(
        _open_memory_index, settings, infrastructure.database
    )
    embedder: providers.Provider[Embedder] = providers.Resource(
        open_embedder,
        settings.provided.lm_studio,
        settings.provided.memory,
        models.llm_http,
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
