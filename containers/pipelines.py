"""Pipelines: the declared pipelines of PIPELINES__DIR (built from the agents, tools and
prompts they use), their runs, and the executor PIPELINES__EXECUTOR names: in process, or
DBOS (durable, queued across workers; a process-wide singleton the runtime opens only when
asked to)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dependency_injector import containers, providers

from adapters.config.pipelines import YamlPipelineSource
from adapters.inprocess.pipeline_runs import InProcessPipelineRunStore
from adapters.observability.pipeline_metrics import PrometheusPipelineMetrics
from adapters.settings import Settings
from application.pipelines.executor import InProcessExecutor
from application.pipelines.registry import PipelineRegistry
from application.pipelines.scheduler import schedule
from application.pipelines.service import Pipelines
from application.pipelines.steps import DirectStepRunnerFactory
from containers.lazy import lazy
from domain.pipelines.ports import PipelineRunStore
from domain.ports import Clock

if TYPE_CHECKING:  # the classes, for the type checker; built lazily at run time
    from adapters.sql.pipeline_runs import SqlPipelineRunStore
    from application.agents.catalog import AgentCatalog
    from application.prompts import PromptManager
    from application.tools.registry import ToolRegistry
else:
    SqlPipelineRunStore = lazy("adapters.sql.pipeline_runs", "SqlPipelineRunStore")


def _pipeline_registry(
    settings: Settings, agents: AgentCatalog, tools: ToolRegistry, prompts: PromptManager
) -> PipelineRegistry:
    """Every pipeline of PIPELINES__DIR, built once (a broken file stops start-up)."""
    from application.pipelines.declared import PipelineFactory  # Pydantic AI: when built

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


def _executor_kind(settings: Settings) -> str:
    return settings.pipelines.executor


def _cache_ttl(settings: Settings) -> float | None:
    """PIPELINES__CACHE_TTL; 0 turns the cache of intermediate results off."""
    return settings.pipelines.cache_ttl or None


class PipelinesContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock: providers.Dependency[Clock] = providers.Dependency()
    infrastructure = providers.DependenciesContainer()
    tools = providers.DependenciesContainer()
    chat = providers.DependenciesContainer()

    pipeline_run_store = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlPipelineRunStore, infrastructure.database),
        memory=providers.Singleton(InProcessPipelineRunStore),
    )
    pipeline_metrics = providers.Singleton(PrometheusPipelineMetrics)
    pipeline_registry = providers.Singleton(
        _pipeline_registry, settings, chat.agent_catalog, tools.tool_registry, chat.prompt_manager
    )
    # How each stage runs (cache, metrics, backoff): directly, or inside a DBOS step.
    pipeline_steps = providers.Singleton(
        DirectStepRunnerFactory,
        clock=clock,
        metrics=pipeline_metrics,
        cache=infrastructure.cache,
        cache_ttl=providers.Callable(_cache_ttl, settings),
    )
    dbos_executor = providers.Resource(
        _open_dbos_executor, settings, pipeline_registry, pipeline_run_store, clock, pipeline_steps
    )
    pipeline_executor = providers.Selector(
        providers.Callable(_executor_kind, settings),
        in_process=providers.Singleton(
            InProcessExecutor,
            cache=infrastructure.cache,
            cache_ttl=providers.Callable(_cache_ttl, settings),
            clock=clock,
            metrics=pipeline_metrics,
        ),
        dbos=dbos_executor,
    )
    pipelines = providers.Factory(
        Pipelines,
        pipeline_registry,
        pipeline_executor,
        pipeline_run_store,
        clock,
        infrastructure.event_bus,
        infrastructure.background_tasks,
    )
