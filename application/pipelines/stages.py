"""The stage kinds a declared pipeline is made of: agent, tool, prompt and callable.

Each is a `PipelineStage`, so the executor runs them like any other (retries, timeouts,
cache). What they add is an optional input mapping (`$input`, `$stages.x.field`, resolved
by the domain) and the call itself, made for the user of the run (`StageContext.user_id`).
Targets are looked up when the stage is built, so an unknown agent, tool, prompt or
callable fails the pipeline's file at load time instead of a run later.
"""

from __future__ import annotations

import importlib
import typing
from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_ai import DeferredToolRequests

from application.agents.catalog import AgentCatalog
from application.agents.runner import AgentDeps
from application.prompts.manager import PromptManager
from application.tools.registry import ToolRegistry
from application.tools.toolset import invoke
from domain.errors import ConfigurationError, StageFailed
from domain.pipelines.mapping import InputMapping, MappingScope, as_text, render_template
from domain.pipelines.stages import FunctionStage, PipelineStage, RetryPolicy, StageContext

__all__ = [
    "AgentStage",
    "CallableStage",
    "DeclaredStage",
    "PromptStage",
    "ToolStage",
    "import_callable",
]


class DeclaredStage(PipelineStage[Any, Any]):
    """The common part: settings, and turning what the executor hands over into this
    stage's input through its mapping (when it has one)."""

    kind: str = "declared"

    def __init__(
        self,
        name: str,
        *,
        depends_on: tuple[str, ...] | list[str] = (),
        mapping: InputMapping | None = None,
        input_type: Any = None,
        output_type: Any = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        cacheable: bool = False,
        version: str = "1",
    ) -> None:
        self.name = name
        self.depends_on = tuple(depends_on)
        self.mapping = mapping
        # A mapped stage receives what its mapping builds, not a dependency's output:
        # there is nothing the pipeline could check its declared input against.
        self.input_type = None if mapping is not None else input_type
        self.output_type = output_type
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.cacheable = cacheable
        self.version = version

    def stage_input(self, received: Any) -> Any:
        if self.mapping is None:
            return received
        return self.mapping.resolve(MappingScope.received(self.depends_on, received))

    async def run(self, input: Any, context: StageContext) -> Any:
        return await self.call(self.stage_input(input), context)

    @abstractmethod
    async def call(self, value: Any, context: StageContext) -> Any:
        """Do the work on the (mapped) input."""


class AgentStage(DeclaredStage):
    """Runs a catalog agent on a prompt built from the input: the `template` with its
    `{input}` / `{name.field}` placeholders filled, or the input itself as text."""

    kind = "agent"

    def __init__(
        self,
        name: str,
        agents: AgentCatalog,
        agent: str,
        *,
        template: str | None = None,
        **settings: Any,
    ) -> None:
        built = agents.get(agent)  # NotFound for an unknown agent, now rather than per run
        super().__init__(name, output_type=built.output_type, **settings)
        self._agents = agents
        self.agent = agent
        self.template = template

    def prompt_for(self, value: Any) -> str:
        if self.template is None:
            return as_text(value)
        try:
            return render_template(self.template, value)
        except LookupError as exc:
            raise StageFailed(
                f"Stage {self.name!r}: {exc}", details={"agent": self.agent}
            ) from None

    async def call(self, value: Any, context: StageContext) -> Any:
        runner = self._agents.get(self.agent)
        result = await runner.run_async(
            self.prompt_for(value), deps=AgentDeps(user_id=context.user_id)
        )
        if isinstance(result.output, DeferredToolRequests):
            raise StageFailed(
                f"Agent {self.agent!r} asked for a tool approval; pipelines cannot wait for one.",
                details={"agent": self.agent},
            )
        return result.output


class ToolStage(DeclaredStage):
    """Invokes a registered tool (same validation, guards and metrics as a model's call)
    with the input as its arguments: a mapping of argument names to values."""

    kind = "tool"

    def __init__(
        self,
        name: str,
        registry: ToolRegistry,
        tool: str,
        *,
        tool_version: str | None = None,
        **settings: Any,
    ) -> None:
        entry = registry.entry(tool, tool_version)  # ToolNotFound now rather than per run
        super().__init__(name, output_type=_return_type(entry.function), **settings)
        self._registry = registry
        self.tool = tool
        self.tool_version = tool_version

    async def call(self, value: Any, context: StageContext) -> Any:
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if not isinstance(value, Mapping):
            raise StageFailed(
                f"Stage {self.name!r}: tool {self.tool!r} needs a mapping of arguments, "
                f"got {type(value).__name__} (declare `input:` with the argument names).",
                details={"tool": self.tool},
            )
        deps = AgentDeps(user_id=context.user_id)
        return await invoke(self._registry, self.tool, dict(value), deps, self.tool_version)


class PromptStage(DeclaredStage):
    """Renders a prompt (latest, or pinned `name@version`); its variables are the input
    when it is a mapping, else `{"input": value}`. Output: the text."""

    kind = "prompt"

    def __init__(
        self,
        name: str,
        prompts: PromptManager,
        prompt: str,
        *,
        prompt_version: str | None = None,
        **settings: Any,
    ) -> None:
        prompts.get(prompt, prompt_version)  # PromptNotFound now rather than per run
        super().__init__(name, output_type=str, **settings)
        self._prompts = prompts
        self.prompt = prompt
        self.prompt_version = prompt_version

    async def call(self, value: Any, context: StageContext) -> str:
        if isinstance(value, BaseModel):
            value = value.model_dump()
        variables = dict(value) if isinstance(value, Mapping) else {"input": value}
        rendered = await self._prompts.render(self.prompt, variables, self.prompt_version)
        return rendered.text


class CallableStage(DeclaredStage):
    """A Python function (sync or async; `fn(input)` or `fn(input, context)`), run like a
    `FunctionStage`: a sync one in a worker thread. Unmapped, its annotations type it."""

    kind = "callable"

    def __init__(
        self, name: str, fn: Callable[..., Any], *, path: str = "", **settings: Any
    ) -> None:
        self._inner = FunctionStage(name, fn)
        settings.setdefault("input_type", self._inner.input_type)
        super().__init__(name, output_type=self._inner.output_type, **settings)
        self.fn = fn
        self.path = path or f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', fn)}"

    async def call(self, value: Any, context: StageContext) -> Any:
        return await self._inner.run(value, context)


def import_callable(path: str) -> Callable[..., Any]:
    """`package.module:function` (or `module:Class.method`) → the callable, or a
    ConfigurationError saying which part is missing. Pipeline files are trusted
    configuration, like the settings: they may name any importable function."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(
            f"{path!r}: expected 'package.module:function'", details={"callable": path}
        )
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"{path!r}: cannot import module {module_name!r} ({exc})", details={"callable": path}
        ) from None
    for part in attribute.split("."):
        if part.startswith("_") or not hasattr(target, part):
            raise ConfigurationError(
                f"{path!r}: {module_name!r} has no public attribute {attribute!r}",
                details={"callable": path},
            )
        target = getattr(target, part)
    if not callable(target):
        raise ConfigurationError(f"{path!r} is not callable", details={"callable": path})
    return typing.cast(Callable[..., Any], target)


def _return_type(fn: Callable[..., Any] | None) -> Any:
    """A Python tool's declared return type (None for MCP tools or unresolvable hints)."""
    if fn is None:
        return None
    try:
        hinted = typing.get_type_hints(fn).get("return")
    except Exception:  # unresolvable annotations just mean "undeclared"
        return None
    return None if hinted is Any else hinted
