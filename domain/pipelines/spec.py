"""The declared form of a pipeline (`config/pipelines/*.yaml`): `PipelineSpec` / `StageSpec`.

Pydantic models, so a file is checked field by field before anything is built and every
error names its field (`stages.1.agent`). What a spec can decide alone is decided here:
each stage names exactly the target its `kind` needs, references and dependencies point
at declared stages, and the dependencies a stage really has are its declared ones plus
the stages its `input:` mapping reads (plus the `input` pass-through stage when a stage
with dependencies reads `$input`). Building stage objects needs the agents, tools and
prompts, so it lives in `application.pipelines.declared`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from domain.pipelines.mapping import INPUT_STAGE, InputMapping, template_fields
from domain.pipelines.pipeline import ErrorStrategy, ExecutionMode
from domain.pipelines.stages import RetryPolicy
from domain.prompts.refs import PromptRef

__all__ = ["INPUT_TYPES", "PipelineSpec", "RetrySpec", "SpecFieldError", "StageKind", "StageSpec"]

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$"
_CALLABLE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
INPUT_TYPES: dict[str, Any] = {"string": str, "object": dict[str, Any], "list": list[Any]}


class SpecFieldError(ValueError):
    """A cross-field problem: `field` is its path relative to the model that raised it,
    so a loader can report `stages.2.depends_on` rather than the whole model."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class StageKind(StrEnum):
    AGENT = "agent"
    TOOL = "tool"
    PROMPT = "prompt"
    CALLABLE = "callable"


class RetrySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attempts: int = Field(3, ge=1, le=20)
    backoff: float = Field(0.5, ge=0)
    multiplier: float = Field(2.0, ge=1)
    max_backoff: float = Field(30.0, ge=0)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.attempts, self.backoff, self.multiplier, self.max_backoff)


class StageSpec(BaseModel):
    """One stage: what it runs (`kind` + `agent` | `tool` | `prompt` | `callable`), what it
    waits for, what it receives, and how it is retried, timed out and cached."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    kind: StageKind
    agent: str | None = None  # an agent of the catalog
    tool: str | None = None  # `name` or `name@version`
    prompt: str | None = None  # `name` or `name@version`
    callable: str | None = None  # `package.module:function`
    depends_on: tuple[str, ...] = ()
    input: Any = None  # None: the default input; else a mapping/list/reference
    template: str | None = None  # agent stages: the prompt, `{input}`-style
    retry: RetrySpec = RetrySpec()
    timeout: float | None = Field(None, gt=0)
    cacheable: bool = False
    version: str = Field("1", min_length=1, max_length=64)

    _mapping: InputMapping | None = PrivateAttr(None)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name == INPUT_STAGE:
            raise ValueError(f"{INPUT_STAGE!r} is reserved for the pipeline input ($input)")
        return name

    @model_validator(mode="after")
    def _check(self) -> StageSpec:
        targets = {kind.value: getattr(self, kind.value) for kind in StageKind}
        if not targets[self.kind.value]:
            raise SpecFieldError(self.kind.value, f"a {self.kind.value} stage must name one")
        for other, value in targets.items():
            if other != self.kind.value and value is not None:
                raise SpecFieldError(other, f"not allowed on a {self.kind.value} stage")
        if self.template is not None:
            if self.kind is not StageKind.AGENT:
                raise SpecFieldError("template", "only agent stages have a template")
            try:
                template_fields(self.template)
            except ValueError as exc:
                raise SpecFieldError("template", str(exc)) from None
        if self.prompt is not None:
            try:
                PromptRef.parse(self.prompt)
            except ValueError as exc:
                raise SpecFieldError("prompt", str(exc)) from None
        if self.callable is not None and not _CALLABLE.match(self.callable):
            raise SpecFieldError("callable", "expected an import path 'package.module:function'")
        if self.tool is not None and not self.tool_ref[0]:
            raise SpecFieldError("tool", "expected 'name' or 'name@version'")
        if self.input is not None:
            try:
                self._mapping = InputMapping(self.input)
            except ValueError as exc:
                raise SpecFieldError("input", str(exc)) from None
        return self

    @property
    def mapping(self) -> InputMapping | None:
        return self._mapping

    @property
    def tool_ref(self) -> tuple[str, str | None]:
        name, _, version = (self.tool or "").strip().partition("@")
        return name, version or None

    @property
    def resolved_depends_on(self) -> tuple[str, ...]:
        """Declared dependencies, then the stages the input mapping reads, then `input`
        when a stage that has dependencies reads `$input` (it cannot see it otherwise)."""
        deps = tuple(
            dict.fromkeys((*self.depends_on, *(self.mapping.stages if self.mapping else ())))
        )
        if deps and self.mapping is not None and self.mapping.uses_input:
            deps = (*deps, INPUT_STAGE)
        return deps


class PipelineSpec(BaseModel):
    """A whole pipeline file. `output` defaults to the last stage declared."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    mode: ExecutionMode = ExecutionMode.DAG
    error_strategy: ErrorStrategy = ErrorStrategy.FAIL_FAST
    max_concurrency: int = Field(4, ge=1, le=64)
    input_type: Literal["string", "object", "list"] | None = None
    output: str | None = None
    stages: list[StageSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> PipelineSpec:
        seen: dict[str, int] = {}
        for i, stage in enumerate(self.stages):
            if stage.name in seen:
                raise SpecFieldError(
                    f"stages.{i}.name", f"stage {stage.name!r} is already stage {seen[stage.name]}"
                )
            seen[stage.name] = i
        for i, stage in enumerate(self.stages):
            for dep in stage.depends_on:
                if dep == stage.name or dep not in seen:
                    what = "itself" if dep == stage.name else f"unknown stage {dep!r}"
                    raise SpecFieldError(f"stages.{i}.depends_on", f"depends on {what}")
            for ref_stage in stage.mapping.stages if stage.mapping else ():
                if ref_stage == stage.name or ref_stage not in seen:
                    what = "its own output" if ref_stage == stage.name else "an unknown stage"
                    raise SpecFieldError(
                        f"stages.{i}.input", f"$stages.{ref_stage} refers to {what}"
                    )
        if self.output is not None and self.output not in seen:
            raise SpecFieldError("output", f"{self.output!r} is not a stage of this pipeline")
        return self

    @property
    def output_stage(self) -> str:
        return self.output if self.output is not None else self.stages[-1].name

    @property
    def python_input_type(self) -> Any:
        """`string` → str, `object` → dict[str, Any], `list` → list[Any], unset → None."""
        return INPUT_TYPES[self.input_type] if self.input_type else None

    @property
    def needs_input_stage(self) -> bool:
        return any(INPUT_STAGE in s.resolved_depends_on for s in self.stages)

    def stage_index(self, name: str) -> int | None:
        return next((i for i, s in enumerate(self.stages) if s.name == name), None)
