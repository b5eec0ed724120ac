"""Pipelines: typed DAGs of stages, validated before they run.

A `Pipeline` holds `PipelineStage`s (or `FunctionStage`s around plain callables) and is
validated on construction (`PipelineInvalid` names the stages at fault); `graph` holds the
ordering rules, `scheduling` the rules of a run (what is blocked, what may start, what
stops it), `runs` the record of a run and its progress events, `ports` the executor, run
store, step runner and hooks. The scheduler that applies them lives in
`application.pipelines`.
"""

from __future__ import annotations

from domain.errors import PipelineInvalid, StageFailed, StageTimeout
from domain.pipelines.pipeline import ErrorStrategy, ExecutionMode, Pipeline
from domain.pipelines.runs import PipelineRun, RunStatus, StageEvent, StageResult, StageStatus
from domain.pipelines.stages import FunctionStage, PipelineStage, RetryPolicy, StageContext

__all__ = [
    "ErrorStrategy",
    "ExecutionMode",
    "FunctionStage",
    "Pipeline",
    "PipelineInvalid",
    "PipelineRun",
    "PipelineStage",
    "RetryPolicy",
    "RunStatus",
    "StageContext",
    "StageEvent",
    "StageFailed",
    "StageResult",
    "StageStatus",
    "StageTimeout",
]

from domain.pipelines.spec import PipelineSpec, StageSpec  # declared pipelines (YAML)

__all__ += ["PipelineSpec", "StageSpec"]
