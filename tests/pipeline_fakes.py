"""Test doubles for pipelines: a wall clock, `Probe` (stages that record when they ran
and how many overlapped), a scripted `StepRunner`, and the services declared pipelines
are built on (the shipped agents and prompts on a scripted model, the builtin tools)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

from pydantic_ai import RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.clock import SystemClock
from adapters.config.agents import YamlAgentSource
from adapters.inprocess.models import StaticModelSource
from adapters.inprocess.tools import InProcessToolStateStore
from adapters.prompts.yaml_source import YamlPromptSource
from application.agents.catalog import AgentCatalog
from application.agents.runner import AgentDeps
from application.pipelines.declared import PipelineFactory
from application.pipelines.executor import InProcessExecutor
from application.prompts.manager import PromptManager
from application.tools.builtins import BUILTIN_TOOLS
from application.tools.registry import ToolRegistry
from domain.agents.models import AgentDefinition
from domain.pipelines import FunctionStage, Pipeline, PipelineRun, StageResult, StageStatus
from domain.pipelines.scheduling import StageSkip
from domain.pipelines.spec import PipelineSpec
from tests.fakes import last_user_text, tool_result

ROOT = Path(__file__).resolve().parents[1]
USER = uuid4()


async def no_sleep(_seconds: float) -> None:
    return None


# --- stages that record how they ran ---------------------------------------------------


class Probe:
    """Stages that sleep, count calls, and record when they ran and how many overlapped."""

    def __init__(self) -> None:
        self.active = 0
        self.max_active = 0
        self.calls: dict[str, int] = {}
        self.spans: dict[str, tuple[float, float]] = {}

    def stage(
        self,
        name: str,
        *deps: str,
        delay: float = 0.01,
        fail: bool = False,
        fn: Callable[[Any], Any] | None = None,
        **kw: Any,
    ) -> FunctionStage:
        async def body(x: Any) -> Any:
            loop = asyncio.get_running_loop()
            start = loop.time()
            self.calls[name] = self.calls.get(name, 0) + 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                await asyncio.sleep(delay)
                if fail:
                    raise RuntimeError(f"{name} broke")
                return fn(x) if fn else f"{name}({x})"
            finally:
                self.active -= 1
                self.spans[name] = (start, loop.time())

        return FunctionStage(name, body, depends_on=deps, **kw)


def executor(**kw: Any) -> InProcessExecutor:
    return InProcessExecutor(clock=SystemClock(), **kw)


class ScriptedSteps:
    """A `StepRunner` that runs nothing: each stage succeeds (or ends as `outcomes` says)
    once `release(stage)` is called. `log` holds each step as it starts (`stage:x`,
    `skip:x,y`), as a durable engine would see them, and each stage as it ends (`done:x`)."""

    def __init__(
        self,
        run: PipelineRun,
        *,
        ordered_replay: bool,
        outcomes: dict[str, StageStatus] | None = None,
    ) -> None:
        self.ordered_replay = ordered_replay
        self.run = run
        self.outcomes = outcomes or {}
        self.log: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def release(self, *stages: str) -> None:
        for stage in stages:
            self.gates.setdefault(stage, asyncio.Event()).set()

    async def run_stage(self, stage: str) -> StageResult:
        self.log.append(f"stage:{stage}")
        try:
            await self.gates.setdefault(stage, asyncio.Event()).wait()
        except asyncio.CancelledError:
            self.run.record(StageResult(stage, StageStatus.CANCELLED))
            raise
        self.log.append(f"done:{stage}")
        status = self.outcomes.get(stage, StageStatus.SUCCEEDED)
        return StageResult(stage, status, attempts=1, output=f"{stage}!")

    def started(self) -> list[str]:
        return [entry for entry in self.log if not entry.startswith("done:")]

    async def skip(self, skips: Sequence[StageSkip]) -> list[StageResult]:
        self.log.append("skip:" + ",".join(s.stage for s in skips))
        return [s.result() for s in skips]


# --- the services of declared pipelines ------------------------------------------------


async def whoami(ctx: RunContext[AgentDeps]) -> str:
    """Who is asking (the user id the tool sees)."""
    return str(ctx.deps.user_id)


def scripted(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
    """Summaries, bullet points, and a `whoami` call for the agent that has that tool."""
    prompt, result = last_user_text(messages), tool_result(messages)
    if result is not None:
        return ModelResponse(parts=[TextPart(f"you are {result}")])
    if prompt == "who am I?":
        return ModelResponse(parts=[ToolCallPart("whoami", {}, "call-1")])
    if prompt.startswith("Summarize"):
        return ModelResponse(parts=[TextPart("Cats sleep a lot. They purr when content.")])
    if prompt.startswith("List the key points"):
        return ModelResponse(parts=[TextPart("- Cats sleep a lot\n- Cats purr\n\n* Content")])
    return ModelResponse(parts=[TextPart(f"echo: {prompt}")])


def services(model: Any = None) -> tuple[AgentCatalog, ToolRegistry, PromptManager]:
    registry = ToolRegistry(InProcessToolStateStore())
    for fn in (*BUILTIN_TOOLS, whoami):
        registry.register(fn)
    source = StaticModelSource(model or FunctionModel(scripted))
    prompts = PromptManager(YamlPromptSource(ROOT / "config" / "prompts"))
    agents = YamlAgentSource(ROOT / "config" / "agents")
    catalog = AgentCatalog(agents, source, registry, prompts=prompts)
    catalog.register(AgentDefinition(name="who", tools=("whoami",)))
    return catalog, registry, prompts


def factory(model: Any = None, **callables: Any) -> PipelineFactory:
    """A factory on the shipped agents and prompts; `callables` (by function name)
    replace importing, for test functions."""
    agents, tools, prompts = services(model)
    if not callables:
        return PipelineFactory(agents=agents, tools=tools, prompts=prompts)

    def resolve(path: str) -> Any:
        return callables[path.partition(":")[2]]

    return PipelineFactory(agents=agents, tools=tools, prompts=prompts, resolve_callable=resolve)


def spec(**fields: Any) -> PipelineSpec:
    return PipelineSpec.model_validate({"name": "p", **fields})


async def run(pipeline: Pipeline[Any, Any], value: Any, **kw: Any) -> PipelineRun:
    """Run on the in-process executor (instant backoff) for `USER`."""
    return await executor(sleep=no_sleep, **kw).run(pipeline, value, user_id=USER)


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name
