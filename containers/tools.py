"""Tools: the registry (built-in tools, TOOLS__MODULES, the `http_get` tool when
TOOLS__HTTP_ALLOWED_HOSTS is set, and every MCP server's tools), their switches, metrics and
approvals.

The registry depends on the opened MCP servers and web fetcher like any other provider on
its resources, so it is complete when first built (after the runtime opened them).
"""

from __future__ import annotations

import importlib
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from dependency_injector import containers, providers

from adapters.inprocess.tools import InProcessApprovalStore, InProcessToolStateStore
from adapters.mcp.resources import open_mcp_servers
from adapters.observability.tool_metrics import PrometheusToolMetrics
from adapters.settings import Settings, ToolSettings
from containers.lazy import lazy
from domain.errors import ConfigurationError
from domain.ports import Cache, RateLimiter
from domain.tools.ports import ToolMetrics, ToolStateStore
from domain.tools.web import WebFetcher

# The registry builds Pydantic AI tools, and the SQL stores use SQLAlchemy: both imported
# when first built (issue #15).
if TYPE_CHECKING:  # the classes, for the type checker; built lazily at run time
    from adapters.sql.tools import SqlApprovalStore, SqlToolStateStore
    from application.tools.registry import ToolRegistry
    from application.tools.service import Approvals, Tools
else:
    SqlToolStateStore = lazy("adapters.sql.tools", "SqlToolStateStore")
    SqlApprovalStore = lazy("adapters.sql.tools", "SqlApprovalStore")
    Tools = lazy("application.tools.service", "Tools")
    Approvals = lazy("application.tools.service", "Approvals")


def _tool_registry(
    settings: Settings,
    state: ToolStateStore,
    cache: Cache,
    limiter: RateLimiter,
    metrics: ToolMetrics,
    mcp_servers: list[tuple[Any, list[Any]]],
    web_fetcher: WebFetcher | None,
) -> ToolRegistry:
    """The registry with the built-in tools, those of TOOLS__MODULES, the MCP servers'
    tools and `http_get` (when hosts are allowed)."""
    from application.tools.builtins import BUILTIN_TOOLS, make_http_get
    from application.tools.registry import ToolRegistry

    tools = settings.tools
    registry = ToolRegistry(
        state, cache=cache, limiter=limiter, metrics=metrics, state_ttl=tools.state_ttl
    )
    for function in BUILTIN_TOOLS:
        registry.register(function)
    for path in tools.modules:
        try:
            module = importlib.import_module(path)
        except ImportError as exc:
            raise ConfigurationError(
                f"TOOLS__MODULES: cannot import {path!r} ({exc}).",
                details={"variable": "TOOLS__MODULES", "module": path},
            ) from exc
        registry.register_module(module)
    for toolset, metas in mcp_servers:
        registry.register_toolset(toolset, metas)
    if tools.http_allowed_hosts:
        assert web_fetcher is not None  # opened whenever hosts are allowed
        registry.register(
            make_http_get(web_fetcher, tools.http_allowed_hosts, calls=tools.http_rate_limit)
        )
    return registry


def _open_web_fetcher(settings: ToolSettings) -> AbstractAsyncContextManager[WebFetcher | None]:
    """The fetcher behind `http_get`; none when TOOLS__HTTP_ALLOWED_HOSTS is empty (the tool
    is not registered then, and its HTTP client is not imported)."""
    if not settings.http_allowed_hosts:
        return nullcontext(None)
    from adapters.web.resources import open_web_fetcher

    return open_web_fetcher(settings)


class ToolsContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    infrastructure = providers.DependenciesContainer()
    memory = providers.DependenciesContainer()

    tool_state_store = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlToolStateStore, infrastructure.database),
        memory=providers.Singleton(InProcessToolStateStore),
    )
    approval_store = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlApprovalStore, infrastructure.database),
        memory=providers.Singleton(InProcessApprovalStore),
    )
    tool_metrics = providers.Singleton(PrometheusToolMetrics)
    mcp_servers = providers.Resource(open_mcp_servers, settings.provided.tools.mcp_servers)
    web_fetcher = providers.Resource(_open_web_fetcher, settings.provided.tools)
    tool_registry = providers.Singleton(
        _tool_registry,
        settings,
        state=tool_state_store,
        cache=infrastructure.cache,
        limiter=infrastructure.rate_limiter,
        metrics=tool_metrics,
        mcp_servers=mcp_servers,
        web_fetcher=web_fetcher,
    )

    tools = providers.Factory(Tools, tool_registry, memory.memory_when_open)
    approvals = providers.Factory(Approvals, approval_store)
