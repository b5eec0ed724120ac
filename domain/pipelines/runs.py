"""The record of one pipeline run: its status, each stage's result, and progress events.

`PipelineRun` decides its own final status from its stage results (`finish`), so every
executor (in-process now, durable workflows later) reports runs the same way. A
`StageEvent` is emitted at each step of a stage so a subscription or the CLI can stream
progress; results and events carry the same `StageStatus`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from pydantic import TypeAdapter

from domain.identity.models import utcnow

__all__ = ["PipelineRun", "RunStatus", "StageEvent", "StageResult", "StageStatus", "jsonable"]

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data (models dumped, anything unknown as its repr)."""
    return _ANY.dump_python(value, mode="json", fallback=repr)


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StageStatus(StrEnum):
    RUNNING = "running"  # events only: an attempt started
    RETRYING = "retrying"  # events only: an attempt failed, another follows
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # never started: a dependency did not succeed, or the run stopped
    CACHED = "cached"  # output taken from the intermediate results cache
    CANCELLED = "cancelled"  # started, then interrupted (fail_fast, or the run cancelled)

    @property
    def is_final(self) -> bool:
        return self not in (StageStatus.RUNNING, StageStatus.RETRYING)

    @property
    def has_output(self) -> bool:
        return self in (StageStatus.SUCCEEDED, StageStatus.CACHED)


@dataclass(frozen=True, slots=True)
class StageEvent:
    run_id: UUID
    pipeline: str
    stage: str
    status: StageStatus
    at: datetime
    attempt: int = 0
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": str(self.run_id),
            "pipeline": self.pipeline,
            "stage": self.stage,
            "status": self.status.value,
            "at": self.at.isoformat(),
            "attempt": self.attempt,
            "error": self.error,
        }


@dataclass(slots=True)
class StageResult:
    """How one stage ended. `attempts` is 0 for skipped and cached stages; `error` is the
    `MAIError` body (`code`, `message`, `details`, `retryable`) of the last failure, or
    why the stage was skipped or cancelled."""

    stage: str
    status: StageStatus
    attempts: int = 0
    duration: float = 0.0  # seconds, wall clock, retries and backoff included
    output: Any = None
    error: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "status": self.status.value,
            "attempts": self.attempts,
            "duration": self.duration,
            "output": jsonable(self.output),
            "error": self.error,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


@dataclass(slots=True)
class PipelineRun:
    """One execution of a pipeline for one user (who alone may read it)."""

    pipeline: str
    user_id: UUID
    input: Any
    id: UUID = field(default_factory=uuid4)
    status: RunStatus = RunStatus.PENDING
    output: Any = None
    stages: dict[str, StageResult] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def start(self, at: datetime) -> None:
        self.status, self.started_at = RunStatus.RUNNING, at

    def record(self, result: StageResult) -> None:
        self.stages[result.stage] = result

    def stages_with(self, status: StageStatus) -> list[str]:
        return [name for name, r in self.stages.items() if r.status is status]

    def finish(self, at: datetime, output_stage: str, *, cancelled: bool = False) -> None:
        """Decide the run's status: cancelled if the run itself was cancelled, failed if
        any stage failed (finished stages keep their outputs), else succeeded with the
        output stage's output."""
        self.finished_at = at
        failed = self.stages_with(StageStatus.FAILED)
        final = self.stages.get(output_stage)
        if cancelled:
            self.status = RunStatus.CANCELLED
            self.error = {"code": "RUN_CANCELLED", "message": "The run was cancelled."}
        elif failed:
            first = self.stages[failed[0]].error or {}
            self.status = RunStatus.FAILED
            self.error = {
                "code": first.get("code", "STAGE_FAILED"),
                "message": f"Stage {failed[0]!r} failed: {first.get('message', '')}".rstrip(": "),
                "details": {"failed_stages": failed},
            }
        elif final is not None and final.status.has_output:
            self.status, self.output = RunStatus.SUCCEEDED, final.output
        else:
            self.status = RunStatus.FAILED
            self.error = {"code": "STAGE_FAILED", "message": f"Stage {output_stage!r} did not run."}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "pipeline": self.pipeline,
            "user_id": str(self.user_id),
            "status": self.status.value,
            "input": jsonable(self.input),
            "output": jsonable(self.output),
            "stages": {name: r.to_dict() for name, r in self.stages.items()},
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration": self.duration,
        }
