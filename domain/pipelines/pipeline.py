"""`Pipeline`: a validated DAG of stages with a typed input and output.

Constructing a `Pipeline` validates it (shape, then declared types) and raises
`PipelineInvalid` naming the stages at fault, so a pipeline object that exists can run.
How it runs (`mode`, `error_strategy`, `max_concurrency`) is part of the definition; the
executor reads it. `to_dict` / `to_json` / `to_mermaid` describe it for APIs and docs (`describe`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Generic, TypeVar, overload

from pydantic import TypeAdapter, ValidationError

from domain.errors import PipelineInvalid, ValidationFailed
from domain.pipelines import describe
from domain.pipelines.compat import accepts, accepts_mapping, type_name
from domain.pipelines.graph import Problem, structural_problems, topological_layers
from domain.pipelines.stages import PipelineStage

__all__ = ["ErrorStrategy", "ExecutionMode", "Pipeline"]

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")


class ExecutionMode(StrEnum):
    SEQUENTIAL = "sequential"  # one stage at a time, in topological order
    PARALLEL = "parallel"  # layer by layer, each layer's stages concurrently
    DAG = "dag"  # each stage as soon as its dependencies are done


class ErrorStrategy(StrEnum):
    FAIL_FAST = "fail_fast"  # the first failure cancels the rest
    CONTINUE = "continue"  # dependents of a failure are skipped, other branches finish
    RETRY = "retry"  # each stage retried per its RetryPolicy, then as fail_fast


class Pipeline(Generic[InputT, OutputT]):
    """Stages, the one whose output is the pipeline's output, and how to run them.

    `input_type` / `output_type` are the runtime declarations behind `InputT` / `OutputT`
    (given as classes, they also type the pipeline statically; otherwise it is
    `Pipeline[Any, Any]` unless the variable is annotated). Root stages must accept the
    input, the output stage must produce the output.
    """

    @overload
    def __init__(
        self,
        *,
        name: str,
        stages: Sequence[PipelineStage[Any, Any]],
        output: str,
        mode: ExecutionMode | str = ExecutionMode.DAG,
        error_strategy: ErrorStrategy | str = ErrorStrategy.FAIL_FAST,
        max_concurrency: int = 4,
        input_type: type[InputT],
        output_type: type[OutputT],
        description: str = "",
    ) -> None: ...

    @overload
    def __init__(
        self: Pipeline[Any, Any],
        *,
        name: str,
        stages: Sequence[PipelineStage[Any, Any]],
        output: str,
        mode: ExecutionMode | str = ExecutionMode.DAG,
        error_strategy: ErrorStrategy | str = ErrorStrategy.FAIL_FAST,
        max_concurrency: int = 4,
        input_type: Any = None,
        output_type: Any = None,
        description: str = "",
    ) -> None: ...

    def __init__(
        self,
        *,
        name: str,
        stages: Sequence[PipelineStage[Any, Any]],
        output: str,
        mode: ExecutionMode | str = ExecutionMode.DAG,
        error_strategy: ErrorStrategy | str = ErrorStrategy.FAIL_FAST,
        max_concurrency: int = 4,
        input_type: Any = None,
        output_type: Any = None,
        description: str = "",
    ) -> None:
        self.name = name
        self.stages: tuple[PipelineStage[Any, Any], ...] = tuple(stages)
        self.output = output
        self.description = description
        self.input_type = input_type
        self.output_type = output_type
        try:
            self.mode = ExecutionMode(mode)
            self.error_strategy = ErrorStrategy(error_strategy)
        except ValueError as exc:
            raise self._invalid([Problem("bad_setting", str(exc), ())]) from None
        self.max_concurrency = max_concurrency
        self._by_name = {
            s.name: s for s in self.stages if isinstance(getattr(s, "name", None), str)
        }
        self.layers: tuple[tuple[str, ...], ...] = self._validate()

    # --- validation -------------------------------------------------------------------

    def _invalid(self, problems: list[Problem]) -> PipelineInvalid:
        stages = sorted({s for p in problems for s in p.stages})
        return PipelineInvalid(
            f"Pipeline {self.name!r} is invalid: " + "; ".join(p.message for p in problems),
            details={
                "pipeline": self.name,
                "stages": stages,
                "problems": [p.to_dict() for p in problems],
            },
        )

    def _validate(self) -> tuple[tuple[str, ...], ...]:
        problems: list[Problem] = []
        if not self.name:
            problems.append(Problem("bad_setting", "a pipeline needs a name", ()))
        if self.max_concurrency < 1:
            problems.append(Problem("bad_setting", "max_concurrency must be at least 1", ()))
        unnamed = [repr(s) for s in self.stages if not getattr(s, "name", None)]
        if unnamed:
            problems.append(
                Problem("unnamed_stage", f"stages without a name: {', '.join(unnamed)}", ())
            )
        names = [s.name for s in self.stages if getattr(s, "name", None)]
        graph = {s.name: tuple(s.depends_on) for s in self._by_name.values()}
        problems += structural_problems(names, graph, self.output)
        if problems:
            raise self._invalid(problems)
        problems = self._type_problems()
        if problems:
            raise self._invalid(problems)
        return tuple(tuple(layer) for layer in topological_layers(graph))

    def _type_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        for stage in self.stages:
            if not stage.depends_on:
                if not accepts(stage.input_type, self.input_type):
                    problems.append(
                        self._mismatch(
                            stage.name, "(pipeline input)", stage.input_type, self.input_type
                        )
                    )
            elif len(stage.depends_on) == 1:
                source = self._by_name[stage.depends_on[0]]
                if not accepts(stage.input_type, source.output_type):
                    problems.append(
                        self._mismatch(
                            stage.name, source.name, stage.input_type, source.output_type
                        )
                    )
            else:
                produced = {d: self._by_name[d].output_type for d in stage.depends_on}
                problems.extend(
                    self._mismatch(stage.name, dep, stage.input_type, produced[dep])
                    for dep in accepts_mapping(stage.input_type, produced)
                )
        out = self._by_name[self.output]
        if not accepts(self.output_type, out.output_type):
            problems.append(
                self._mismatch("(pipeline output)", out.name, self.output_type, out.output_type)
            )
        return problems

    @staticmethod
    def _mismatch(consumer: str, producer: str, expected: Any, produced: Any) -> Problem:
        want, got = type_name(expected), type_name(produced)
        stages = tuple(s for s in (producer, consumer) if not s.startswith("("))
        return Problem(
            "type_mismatch",
            f"{consumer} expects {want} but {producer} produces {got}",
            stages,
            {"consumer": consumer, "producer": producer, "expected": want, "produced": got},
        )

    def validate_input(self, value: Any) -> Any:
        """The input as the declared `input_type` (pydantic coercion), or ValidationFailed."""
        if self.input_type is None:
            return value
        try:
            return TypeAdapter(self.input_type).validate_python(value)
        except ValidationError as exc:
            raise ValidationFailed(
                f"Input of pipeline {self.name!r} is invalid.",
                details={
                    "pipeline": self.name,
                    "errors": exc.errors(include_url=False, include_context=False),
                },
            ) from None

    # --- reading ----------------------------------------------------------------------

    def stage(self, name: str) -> PipelineStage[Any, Any]:
        return self._by_name[name]

    @property
    def order(self) -> tuple[str, ...]:
        """Every stage in topological order (layers flattened)."""
        return tuple(name for layer in self.layers for name in layer)

    def dependents(self, name: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages if name in s.depends_on)

    def to_dict(self) -> dict[str, Any]:
        return describe.to_dict(self)

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_mermaid(self) -> str:
        """A `graph TD` Mermaid diagram of the DAG (see `describe.to_mermaid`)."""
        return describe.to_mermaid(self)

    def __repr__(self) -> str:
        return f"Pipeline(name={self.name!r}, stages={[s.name for s in self.stages]!r})"
