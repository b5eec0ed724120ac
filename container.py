"""The composition root: it connects the capability containers of `containers/`.

Each capability (identity, memory, tools, chat, pipelines, evals) wires its own adapters and
use-cases in its own `DeclarativeContainer`; this root only passes each the others it
needs, as in dependency-injector's "decoupled packages" example. Adapters are chosen by
settings alone (see `adapters/settings.py` for the profiles).

Clients are `Resource`s, opened and closed by `AppRuntime` (`runtime.py`) in the API
lifespan, the CLI and `mai worker`; nothing connects at import time.

The names entrypoints and tests use are kept on the root (`container.long_term_memory`,
`container.model_source`, …): each is the capability container's own provider, so
`container.embedder.override(providers.Object(fake))` swaps it for every capability.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.settings import Settings, get_settings
from application.health import CheckReadiness
from containers.chat import ChatContainer
from containers.evals import EvalsContainer
from containers.identity import IdentityContainer
from containers.infrastructure import InfrastructureContainer
from containers.memory import MemoryContainer
from containers.models import ModelsContainer
from containers.pipelines import PipelinesContainer
from containers.tools import ToolsContainer
from domain.ports import HealthCheck

if TYPE_CHECKING:
    from pydantic_ai.models import Model


def _health_checks(
    database: HealthCheck, cache: HealthCheck, llm: HealthCheck, *, index: Any
) -> list[HealthCheck]:
    """Every adapter's health check; the vector index only where this process opened it."""
    checks = [database, cache, llm]
    if getattr(index, "initialized", True):
        checks.append(index())
    return checks


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(get_settings)
    clock = providers.Singleton(SystemClock)

    # --- the capabilities, each given the others it needs -----------------------------------
    infrastructure_package = providers.Container(InfrastructureContainer, settings=settings)
    models_package = providers.Container(ModelsContainer, settings=settings)
    identity_package = providers.Container(
        IdentityContainer, settings=settings, clock=clock, infrastructure=infrastructure_package
    )
    memory_package = providers.Container(
        MemoryContainer,
        settings=settings,
        clock=clock,
        infrastructure=infrastructure_package,
        models=models_package,
    )
    tools_package = providers.Container(
        ToolsContainer,
        settings=settings,
        infrastructure=infrastructure_package,
        memory=memory_package,
    )
    chat_package = providers.Container(
        ChatContainer,
        settings=settings,
        clock=clock,
        infrastructure=infrastructure_package,
        models=models_package,
        memory=memory_package,
        tools=tools_package,
    )
    pipelines_package = providers.Container(
        PipelinesContainer,
        settings=settings,
        clock=clock,
        infrastructure=infrastructure_package,
        tools=tools_package,
        chat=chat_package,
    )
    evals_package = providers.Container(
        EvalsContainer,
        infrastructure=infrastructure_package,
        identity=identity_package,
        memory=memory_package,
        chat=chat_package,
    )

    # --- readiness: every adapter the profile uses -----------------------------------------
    health_checks = providers.Callable(
        _health_checks,
        infrastructure_package.container.database_health,
        infrastructure_package.container.cache_health,
        models_package.container.llm_health,
        index=providers.Delegate(memory_package.container.memory_index),
    )
    check_readiness = providers.Factory(CheckReadiness, health_checks)

    # --- the names entrypoints, tests and benchmarks use ----------------------------------
    background_tasks = infrastructure_package.container.background_tasks
    database = infrastructure_package.container.database
    model_source = models_package.container.model_source
    llm_health = models_package.container.llm_health

    users = identity_package.container.users
    api_key_store = identity_package.container.api_key_store
    register_user = identity_package.container.register_user
    login = identity_package.container.login
    refresh_tokens = identity_package.container.refresh_tokens
    logout = identity_package.container.logout
    authenticate = identity_package.container.authenticate
    set_user_active = identity_package.container.set_user_active
    create_api_key = identity_package.container.create_api_key
    list_api_keys = identity_package.container.list_api_keys
    revoke_api_key = identity_package.container.revoke_api_key
    api_limits = identity_package.container.api_limits

    memory_repository = memory_package.container.memory_repository
    memory_index = memory_package.container.memory_index
    embedder = memory_package.container.embedder
    long_term_memory = memory_package.container.long_term_memory
    reconcile_index = memory_package.container.reconcile_index
    reindex_memories = memory_package.container.reindex_memories

    tool_registry = tools_package.container.tool_registry
    tools = tools_package.container.tools
    approvals = tools_package.container.approvals

    prompt_manager = chat_package.container.prompt_manager
    conversation_store = chat_package.container.conversation_store
    window_store = chat_package.container.window_store
    summarizer = chat_package.container.summarizer
    conversation_window = chat_package.container.conversation_window
    agent_catalog = chat_package.container.agent_catalog
    list_conversations = chat_package.container.list_conversations
    get_conversation = chat_package.container.get_conversation
    list_messages = chat_package.container.list_messages
    delete_conversation = chat_package.container.delete_conversation
    send_message = chat_package.container.send_message
    stream_message = chat_package.container.stream_message
    stream_native = chat_package.container.stream_native
    resolve_approval = chat_package.container.resolve_approval
    follow_conversation = chat_package.container.follow_conversation

    pipeline_registry = pipelines_package.container.pipeline_registry
    dbos_executor = pipelines_package.container.dbos_executor
    pipelines = pipelines_package.container.pipelines

    eval_run_store = evals_package.container.eval_run_store
    eval_runs = evals_package.container.eval_runs
    run_agent_eval = evals_package.container.run_agent_eval
    run_memory_eval = evals_package.container.run_memory_eval


#: The tokens of a sign-in (PyJWT), and the chat turn in its forms (REST, SSE, `/v1` and
#: its client history, approvals).
FIRST_REQUEST_MODULES = (
    "adapters.security.tokens",
    "application.chat",
    "application.chat_native",
    "application.approvals",
    "application.agents.client_history",
)
#: The SQL stores a first sign-in, chat, memory or tool request uses (SQLite or PostgreSQL).
SQL_STORE_MODULES = (
    "adapters.sql.users",
    "adapters.sql.sessions",
    "adapters.sql.api_keys",
    "adapters.sql.conversations",
    "adapters.sql.memories",
    "adapters.sql.tools",
)


def first_request_modules(settings: Settings) -> list[str]:
    """The modules the container builds lazily (`containers/lazy.py`) that the first
    requests on this profile would import: the server imports them once it listens."""
    stores = SQL_STORE_MODULES if settings.database.backend != "memory" else ()
    return [*stores, *FIRST_REQUEST_MODULES]


async def judge_model(container: Container, spec: str) -> Model:
    """The model LLMJudge scores with (`mai eval --judge`): `local` is the configured LLM
    server's model, anything else a model as `--model` names it."""
    if spec == "local":
        return await container.model_source().model()
    from adapters.evals.models import eval_model

    return eval_model(spec)


def recording_spans() -> AbstractContextManager[None]:
    """Agents instrumented and their spans kept for the block, for pydantic-evals' span
    evaluators (imported on use: the OpenTelemetry SDK is for eval runs only)."""
    from adapters.evals.tracing import recording_spans as record

    return record()


def check_eval_model(spec: str) -> None:
    """Fail now (ConfigurationError) when `spec` names no model `mai eval --model` can run
    on: the same resolution `pin_chat_model` makes, before anything runs."""
    from adapters.evals.models import eval_model

    eval_model(spec)


def pin_chat_model(container: Container, spec: str) -> None:
    """Every agent of this container runs on the model `spec` names (`mai eval --model`);
    call before the agent catalog is first built."""
    from adapters.evals.models import eval_model
    from adapters.inprocess.models import StaticModelSource

    container.model_source.override(providers.Object(StaticModelSource(eval_model(spec))))


async def migrate_database(direction: str, revision: str) -> str:
    """Run Alembic for the configured database (the CLI's `mai db upgrade|downgrade`)."""
    from adapters.sql import migrate

    settings = get_settings()
    if settings.database.backend == "memory":
        return "database is in memory (DATABASE__URL=memory://): nothing to migrate"
    run = migrate.upgrade if direction == "upgrade" else migrate.downgrade
    await run(settings.database.url, revision, embedding_dim=settings.memory.embedding_dim)
    return f"{settings.database.backend} database at {revision}"
