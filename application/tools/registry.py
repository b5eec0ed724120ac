"""`ToolRegistry`: every tool the framework knows, by name and version, with its switch.

Registration is synchronous and guarded by a lock (thread-safe; no awaits while it is held,
so asyncio-safe too). The on/off switches live in the database (`ToolStateStore`) so they
survive restarts and every server process sees the same ones; each process keeps a copy for
`state_ttl` seconds (a switch flipped on another process is seen within that time, at once
on this one) so a turn does not cost a query per model step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from uuid import UUID

from pydantic_ai.tools import Tool
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset

from application.agents.runner import AgentDeps
from application.tools.declare import ToolSpec, spec_of
from application.tools.toolset import RegistryToolset
from domain.agents.models import AgentDefinition
from domain.ports import Cache, RateLimiter
from domain.tools.errors import DuplicateTool, ToolNotFound
from domain.tools.models import ToolMetadata
from domain.tools.ports import ToolMetrics, ToolStateStore
from domain.tools.rules import is_enabled, offered_tools, pick_version, unknown_entries


@dataclass(frozen=True, slots=True)
class RegisteredTool:
    """One version of a tool and the toolset that runs it (a one-tool `FunctionToolset`
    for Python functions, the server's `MCPToolset` for MCP tools)."""

    meta: ToolMetadata
    toolset: AbstractToolset[AgentDeps]
    function: Callable[..., Any] | None = None


class ToolRegistry:
    def __init__(
        self,
        state: ToolStateStore,
        *,
        cache: Cache | None = None,
        limiter: RateLimiter | None = None,
        metrics: ToolMetrics | None = None,
        state_ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = state
        self.cache = cache
        self.limiter = limiter
        self.metrics = metrics
        self._ttl = state_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._tools: dict[str, dict[str, RegisteredTool]] = {}  # name → version → tool
        self._switches: dict[str, bool] = {}
        self._switches_at = float("-inf")

    # --- registration -------------------------------------------------------------------

    def register(self, function: Callable[..., Any], **overrides: Any) -> ToolMetadata:
        """Register a function declared with `@tool` (or a plain typed function, with
        defaults); keyword `overrides` replace fields of its declaration."""
        spec = spec_of(function) or ToolSpec(
            name=function.__name__,
            description=None,
            category="general",
            version="1.0.0",
            requires_approval=False,
            tags=(),
            sensitive=False,
            user_scoped=False,
            enabled=True,
        )
        fields = {k: getattr(spec, k) for k in ToolSpec.__slots__} | overrides
        tool: Tool[AgentDeps] = Tool(
            function, name=fields["name"], description=fields["description"]
        )
        fields["description"] = tool.tool_def.description or ""
        meta = ToolMetadata(parameters=tool.tool_def.parameters_json_schema, **fields)
        self._add(RegisteredTool(meta, FunctionToolset([tool]), function))
        return meta

    def register_module(self, module: ModuleType) -> list[ToolMetadata]:
        """Register every `@tool` function defined in `module`."""
        found = [
            obj
            for obj in vars(module).values()
            if callable(obj)
            and spec_of(obj) is not None
            and getattr(obj, "__module__", None) == module.__name__
        ]
        return [self.register(fn) for fn in found]

    def register_toolset(
        self, toolset: AbstractToolset[AgentDeps], tools: Iterable[ToolMetadata]
    ) -> None:
        """Register tools served by an external toolset (an MCP server)."""
        for meta in tools:
            self._add(RegisteredTool(meta, toolset))

    def _add(self, entry: RegisteredTool) -> None:
        name, version = entry.meta.name, entry.meta.version
        with self._lock:
            versions = self._tools.setdefault(name, {})
            if version in versions:
                raise DuplicateTool(
                    f"Tool {name!r} version {version} is already registered.",
                    details={"tool": name, "version": version},
                )
            versions[version] = entry

    # --- lookup -------------------------------------------------------------------------

    def entry(self, name: str, version: str | None = None) -> RegisteredTool:
        with self._lock:
            versions = list(self._tools.get(name, {}).values())
        meta = pick_version([v.meta for v in versions], version)
        if meta is None:
            raise ToolNotFound(
                f"No tool {name!r}" + (f" version {version}." if version else "."),
                details={"tool": name, "version": version},
            )
        return next(v for v in versions if v.meta.version == meta.version)

    def toolset_of(self, name: str, version: str) -> AbstractToolset[AgentDeps]:
        return self.entry(name, version).toolset

    def get(self, name: str, version: str | None = None) -> ToolMetadata:
        """The latest version by default, or the pinned one; with its current switch."""
        return self._effective(self.entry(name, version).meta)

    def all(self) -> list[ToolMetadata]:
        """Every version of every tool, by name then version."""
        with self._lock:
            metas = [e.meta for versions in self._tools.values() for e in versions.values()]
        return sorted((self._effective(m) for m in metas), key=lambda m: (m.name, m.version))

    def list_by_category(self) -> dict[str, list[ToolMetadata]]:
        grouped: dict[str, list[ToolMetadata]] = {}
        for meta in self.all():
            grouped.setdefault(meta.category, []).append(meta)
        return dict(sorted(grouped.items()))

    def catalog(self) -> dict[str, list[ToolMetadata]]:
        """Name → every registered version (what the domain's rules choose from)."""
        with self._lock:
            return {n: [e.meta for e in vs.values()] for n, vs in self._tools.items()}

    def _effective(self, meta: ToolMetadata) -> ToolMetadata:
        return meta.model_copy(update={"enabled": is_enabled(meta, self._switches)})

    # --- switches -----------------------------------------------------------------------

    async def switches(self, *, fresh: bool = False) -> dict[str, bool]:
        """The persisted switches, re-read when older than `state_ttl` (or `fresh`)."""
        if fresh or self._clock() - self._switches_at >= self._ttl:
            loaded = await self.state.switches()
            with self._lock:
                self._switches, self._switches_at = loaded, self._clock()
        return self._switches

    async def set_enabled(
        self, name: str, enabled: bool, *, changed_by: UUID | None = None
    ) -> ToolMetadata:
        self.entry(name)  # unknown names are refused, not stored
        await self.state.set_enabled(name, enabled, changed_by=changed_by)
        with self._lock:
            self._switches = {**self._switches, name: enabled}
        return self.get(name)

    async def enable(self, name: str, *, changed_by: UUID | None = None) -> ToolMetadata:
        return await self.set_enabled(name, True, changed_by=changed_by)

    async def disable(self, name: str, *, changed_by: UUID | None = None) -> ToolMetadata:
        return await self.set_enabled(name, False, changed_by=changed_by)

    # --- agents -------------------------------------------------------------------------

    def unknown(self, definition: AgentDefinition) -> list[str]:
        return unknown_entries(self.catalog(), definition.tools)

    def needs_approval(self, definition: AgentDefinition) -> bool:
        """Whether any tool the agent may use can pause a turn for approval."""
        return any(
            meta.requires_approval
            for meta in offered_tools(self.catalog(), definition.tools, {}).values()
        )

    def toolset_for(self, definition: AgentDefinition) -> AbstractToolset[AgentDeps]:
        return RegistryToolset(self, tuple(definition.tools), owner=definition.name)

    def offered(
        self, allowed: tuple[str, ...], switches: dict[str, bool]
    ) -> dict[str, ToolMetadata]:
        return offered_tools(self.catalog(), allowed, switches)
