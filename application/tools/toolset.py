"""`RegistryToolset`: the Pydantic AI toolset an agent gets from the registry.

Pydantic AI does the tool calling (schemas, argument validation, retries, deferral); this
toolset decides what the model sees and wraps each call:

- `get_tools` offers only the tools the agent's allow-list names and whose switch is on;
- `call_tool` refuses a tool switched off since it was offered, pauses an approval-gated
  call (`ApprovalRequired`, unless this call was approved), runs the call with the guards'
  `ToolRuntime` (user, cache, rate limiter, metrics), logs and counts it, and turns every
  failure into a result the model can react to (`ToolFailed`) instead of a crashed turn.

It reads the registry through `ToolSource`, the few things it needs, so this module does not
import the registry (which builds these toolsets): the dependency runs one way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import structlog
from pydantic import ValidationError
from pydantic_ai import RunContext
from pydantic_ai.exceptions import ApprovalRequired, CallDeferred, ModelRetry, ToolFailed
from pydantic_ai.models import Model
from pydantic_ai.toolsets import AbstractToolset, ToolsetTool
from pydantic_ai.usage import RunUsage

from application.agents.runner import AgentDeps
from application.tools.guards import ToolRuntime, tool_runtime
from domain.errors import MAIError, ValidationFailed
from domain.errors import ToolFailed as ToolFailedError
from domain.ports import Cache, RateLimiter
from domain.tools.errors import ToolDisabled, ToolRateLimited, ToolTimeout
from domain.tools.models import ToolMetadata
from domain.tools.ports import ToolMetrics

log = structlog.get_logger("mai.tools")
_PASS_THROUGH = (ApprovalRequired, CallDeferred, ModelRetry, ToolFailed)


@cache
def _no_model() -> Model:
    """A `RunContext` must name a model; a direct call never makes a model request, so it
    gets Pydantic AI's own placeholder model, built once, on the first direct call (building
    it loads genai-prices' price data, ~0.2 s that a cold start need not pay: issue #15)."""
    from pydantic_ai.models.test import TestModel

    return TestModel()


class ToolSource(Protocol):
    """What a toolset needs from the registry: which tools an agent is offered now, the
    toolset that runs each, and the services a call's guards use (`ToolRegistry` is one)."""

    @property
    def cache(self) -> Cache | None: ...

    @property
    def limiter(self) -> RateLimiter | None: ...

    @property
    def metrics(self) -> ToolMetrics | None: ...

    async def switches(self, *, fresh: bool = False) -> dict[str, bool]:
        """The on/off switches by tool name (possibly a copy a few seconds old)."""
        ...

    def offered(
        self, allowed: tuple[str, ...], switches: dict[str, bool]
    ) -> dict[str, ToolMetadata]:
        """The tools an allow-list offers under these switches, by name."""
        ...

    def get(self, name: str, version: str | None = None) -> ToolMetadata:
        """A tool's metadata (latest version unless pinned); `ToolNotFound` if unknown."""
        ...

    def toolset_of(self, name: str, version: str) -> AbstractToolset[AgentDeps]:
        """The toolset that runs that version of the tool."""
        ...


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, ApprovalRequired):
        return "approval_required"
    if isinstance(exc, ToolRateLimited):
        return "rate_limited"
    if isinstance(exc, ToolTimeout):
        return "timeout"
    return "error"


def for_model(exc: Exception, tool: str) -> Exception:
    """What the model is told when a call fails: the contract's code and a short reason."""
    if isinstance(exc, _PASS_THROUGH):
        return exc
    if isinstance(exc, MAIError):
        return ToolFailed(f"{exc.code}: {exc.message}")
    return ToolFailed(f"TOOL_FAILED: tool {tool!r} failed ({type(exc).__name__}).")


async def execute(
    registry: ToolSource,
    meta: ToolMetadata,
    call: Any,
    ctx: RunContext[AgentDeps],
) -> Any:
    """Run one call under the guards' runtime; log and count it whatever happens."""
    user_id = ctx.deps.user_id if ctx.deps is not None else None
    runtime = ToolRuntime(
        name=meta.name,
        version=meta.version,
        user_id=user_id,
        user_scoped=meta.user_scoped,
        cache=registry.cache,
        limiter=registry.limiter,
        metrics=registry.metrics,
    )
    started = time.perf_counter()
    outcome = "ok"
    try:
        with tool_runtime(runtime):
            return await call()
    except BaseException as exc:
        outcome = _outcome(exc)
        raise
    finally:
        seconds = time.perf_counter() - started
        if registry.metrics is not None:
            registry.metrics.call_finished(meta.name, meta.version, outcome, seconds)
        fields: dict[str, Any] = {
            "tool": meta.name,
            "version": meta.version,
            "user_id": str(user_id) if user_id else None,
            "duration_ms": round(seconds * 1000, 2),
            "outcome": outcome,
        }
        if not meta.sensitive:
            fields["args"] = getattr(call, "args", None)
        log.info("tool_call", **fields)


@dataclass
class _Call:
    """A bound call, with its arguments visible to the log line."""

    toolset: AbstractToolset[AgentDeps]
    name: str
    args: dict[str, Any]
    ctx: RunContext[AgentDeps]
    tool: ToolsetTool[AgentDeps]

    async def __call__(self) -> Any:
        return await self.toolset.call_tool(self.name, self.args, self.ctx, self.tool)


class RegistryToolset(AbstractToolset[AgentDeps]):
    def __init__(self, registry: ToolSource, allowed: tuple[str, ...], *, owner: str) -> None:
        self.registry = registry
        self.allowed = allowed
        self.owner = owner

    @property
    def id(self) -> str | None:
        return f"mai-tools-{self.owner}"

    @property
    def label(self) -> str:
        return f"MAI tools of agent {self.owner!r}"

    async def _offered(self) -> dict[str, ToolMetadata]:
        if not self.allowed:  # an agent without tools: no switches to read on its turns
            return {}
        return self.registry.offered(self.allowed, await self.registry.switches())

    async def get_tools(self, ctx: RunContext[AgentDeps]) -> dict[str, ToolsetTool[AgentDeps]]:
        tools: dict[str, ToolsetTool[AgentDeps]] = {}
        for name, meta in (await self._offered()).items():
            provided = await self.registry.toolset_of(name, meta.version).get_tools(ctx)
            if name in provided:
                tools[name] = provided[name]
        return tools

    async def call_tool(
        self,
        name: str,
        tool_args: dict[str, Any],
        ctx: RunContext[AgentDeps],
        tool: ToolsetTool[AgentDeps],
    ) -> Any:
        meta = (await self._offered()).get(name)
        if meta is None:  # switched off (or never allowed) since it was offered
            if self.registry.metrics is not None:
                self.registry.metrics.call_finished(name, "-", "refused", 0.0)
            raise ToolFailed(f"TOOL_DISABLED: tool {name!r} is not available.")
        if meta.requires_approval and not ctx.tool_call_approved:
            raise ApprovalRequired
        toolset = self.registry.toolset_of(name, meta.version)
        try:
            return await execute(
                self.registry, meta, _Call(toolset, name, tool_args, ctx, tool), ctx
            )
        except Exception as exc:
            raise for_model(exc, name) from exc


async def invoke(
    registry: ToolSource,
    name: str,
    args: dict[str, Any],
    deps: AgentDeps,
    version: str | None = None,
) -> Any:
    """Call a tool directly (the API's `POST /tools/{name}/invoke`): same validation,
    guards, logging and metrics as a model's call; errors raise as `MAIError`s."""
    await registry.switches()  # refresh a stale copy first: `get` reports through it
    meta = registry.get(name, version)
    if not meta.enabled:
        raise ToolDisabled(f"Tool {name!r} is disabled.", details={"tool": name})
    toolset = registry.toolset_of(name, meta.version)
    ctx: RunContext[AgentDeps] = RunContext(
        deps=deps, model=_no_model(), usage=RunUsage(), tool_name=name, tool_call_approved=True
    )
    tool = (await toolset.get_tools(ctx)).get(name)
    if tool is None:
        raise ToolDisabled(f"Tool {name!r} is not available.", details={"tool": name})
    try:
        validated = tool.args_validator.validate_python(args)
    except ValidationError as exc:
        raise ValidationFailed(
            f"Invalid arguments for tool {name!r}.",
            details={"tool": name, "errors": exc.errors(include_url=False, include_context=False)},
        ) from None
    try:
        return await execute(registry, meta, _Call(toolset, name, validated, ctx, tool), ctx)
    except MAIError:
        raise
    except ModelRetry as exc:  # the tool refused these arguments: the caller's to fix
        raise ValidationFailed(exc.message, details={"tool": name}) from exc
    except ToolFailed as exc:
        raise ToolFailedError(exc.message, details={"tool": name}) from exc
    except Exception as exc:
        log.exception("tool_invoke_crashed", tool=name, error_type=type(exc).__name__)
        raise ToolFailedError(f"Tool {name!r} failed.", details={"tool": name}) from exc
