"""Building `Pipeline` objects from declared specs (`PipelineSpec`, e.g. from YAML).

The factory receives the services stages call (agents, tools, prompts, and how to import
a callable), so specs stay plain data and the loader stays an adapter. Every target is
looked up while building: a pipeline that builds can run. Every failure is a
`ConfigurationError` whose `details["field"]` is the spec path at fault (`stages.1.agent`,
`output`), which the YAML loader prefixes with the file.

A declared stage's `version` is the declared one plus a digest of its declaration
(`1+3fa2b1c0`), so editing a template or mapping never serves outputs cached for the
old declaration.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from application.agents.catalog import AgentCatalog
from application.pipelines.stages import (
    AgentStage,
    CallableStage,
    DeclaredStage,
    PromptStage,
    ToolStage,
    import_callable,
)
from application.prompts.manager import PromptManager
from application.tools.registry import ToolRegistry
from domain.errors import ConfigurationError, MAIError, PipelineInvalid
from domain.pipelines.mapping import INPUT_STAGE
from domain.pipelines.pipeline import Pipeline
from domain.pipelines.spec import PipelineSpec, StageKind, StageSpec
from domain.pipelines.stages import PipelineStage, StageContext
from domain.prompts.refs import PromptRef

__all__ = ["InputStage", "PipelineFactory"]

T = TypeVar("T")


class InputStage(PipelineStage[Any, Any]):
    """Hands the pipeline input to stages that have dependencies but read `$input` (the
    executor gives a non-root stage only its dependencies' outputs)."""

    name = INPUT_STAGE
    kind = "input"

    def __init__(self, input_type: Any = None) -> None:
        self.input_type = self.output_type = input_type

    async def run(self, input: Any, context: StageContext) -> Any:
        return input


class PipelineFactory:
    """`build(spec)` → a validated `Pipeline`. A service left out (None) only matters
    to the stages of its kind, which then fail to build, naming the missing service."""

    def __init__(
        self,
        *,
        agents: AgentCatalog | None = None,
        tools: ToolRegistry | None = None,
        prompts: PromptManager | None = None,
        resolve_callable: Callable[[str], Callable[..., Any]] = import_callable,
    ) -> None:
        self._agents = agents
        self._tools = tools
        self._prompts = prompts
        self._resolve = resolve_callable

    def build(self, spec: PipelineSpec) -> Pipeline[Any, Any]:
        stages: list[PipelineStage[Any, Any]] = []
        if spec.needs_input_stage:
            stages.append(InputStage(spec.python_input_type))
        stages.extend(self._stage(spec, i, s) for i, s in enumerate(spec.stages))
        last = next((s for s in stages if s.name == spec.output_stage), None)
        try:
            return Pipeline(
                name=spec.name,
                description=spec.description,
                stages=stages,
                output=spec.output_stage,
                mode=spec.mode,
                error_strategy=spec.error_strategy,
                max_concurrency=spec.max_concurrency,
                input_type=spec.python_input_type,
                output_type=last.output_type if last is not None else None,
            )
        except PipelineInvalid as exc:
            field = _field_of(spec, exc)
            raise ConfigurationError(
                f"pipeline {spec.name!r}: {field}: {exc.message}",
                details={"pipeline": spec.name, "field": field, **exc.details},
            ) from None

    def build_all(self, specs: Iterable[PipelineSpec]) -> dict[str, Pipeline[Any, Any]]:
        return {spec.name: self.build(spec) for spec in specs}

    def _stage(self, spec: PipelineSpec, index: int, stage: StageSpec) -> DeclaredStage:
        field = f"stages.{index}.{stage.kind.value}"
        settings: dict[str, Any] = {
            "depends_on": stage.resolved_depends_on,
            "mapping": stage.mapping,
            "retry": stage.retry.policy(),
            "timeout": stage.timeout,
            "cacheable": stage.cacheable,
            "version": _version(stage),
        }
        try:
            return self._make(stage, settings)
        except MAIError as exc:  # unknown target, missing service, import failure
            raise ConfigurationError(
                f"pipeline {spec.name!r}: {field}: {exc.message}",
                details={"pipeline": spec.name, "stage": stage.name, "field": field},
            ) from None

    def _make(self, stage: StageSpec, settings: dict[str, Any]) -> DeclaredStage:
        if stage.kind is StageKind.AGENT:
            agents = _needed(self._agents, "an agent catalog")
            assert stage.agent is not None  # the spec guarantees the kind's target
            return AgentStage(stage.name, agents, stage.agent, template=stage.template, **settings)
        if stage.kind is StageKind.TOOL:
            tools = _needed(self._tools, "a tool registry")
            name, version = stage.tool_ref
            return ToolStage(stage.name, tools, name, tool_version=version, **settings)
        if stage.kind is StageKind.PROMPT:
            prompts = _needed(self._prompts, "a prompt manager")
            ref = PromptRef.parse(stage.prompt or "")
            return PromptStage(
                stage.name, prompts, ref.name, prompt_version=ref.version, **settings
            )
        path = stage.callable or ""
        return CallableStage(stage.name, self._resolve(path), path=path, **settings)


def _needed(service: T | None, what: str) -> T:
    if service is None:
        raise ConfigurationError(f"stages of this kind need {what}, and none was given")
    return service


def _version(stage: StageSpec) -> str:
    declaration = stage.model_dump_json(exclude={"retry", "timeout"})
    return f"{stage.version}+{hashlib.sha256(declaration.encode()).hexdigest()[:8]}"


def _field_of(spec: PipelineSpec, exc: PipelineInvalid) -> str:
    """The spec field a graph problem points at: `output` for an unknown output, the
    first declared stage it names otherwise (its `depends_on` for a cycle, its `input`
    for types that do not connect)."""
    for problem in exc.details.get("problems", []):
        if problem.get("kind") == "unknown_output":
            return "output"
        suffix = {"cycle": ".depends_on", "type_mismatch": ".input"}.get(problem.get("kind"), "")
        names = [problem.get("consumer"), *problem.get("stages", [])]
        for name in names:
            index = spec.stage_index(name) if isinstance(name, str) else None
            if index is not None:
                return f"stages.{index}{suffix}"
    return "stages"
