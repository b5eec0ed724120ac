"""What an eval run is: a dataset scored once, case by case, kept so runs can be compared.

A run is project-level, not a user's: evaluation users are created for the run and removed
after it, so a run records which agent (or retrieval mode), model and prompt version it
measured, never who started it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

MAX_OUTPUT_CHARS = 500  # a case keeps a preview of what the agent said, not the whole reply


class EvalKind(StrEnum):
    AGENT = "agent"
    MEMORY = "memory"


@dataclass(frozen=True, slots=True)
class CaseScore:
    """One case's result: its score 0..1, and what made it up."""

    name: str
    score: float
    duration: float = 0.0  # seconds the case took (the turn(s), or the search)
    assertions: dict[str, bool] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # the case failed to run (the score is then 0)
    output: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"case {self.name!r}: score {self.score} is not within 0..1")
        if self.output is not None and len(self.output) > MAX_OUTPUT_CHARS:
            object.__setattr__(self, "output", self.output[: MAX_OUTPUT_CHARS - 1] + "…")


@dataclass(slots=True)
class EvalRun:
    """A dataset scored once. `score` is the gate figure: the average case score for an
    agent, recall@10 for memory; `metrics` holds the rest (MRR, latency…)."""

    kind: EvalKind
    dataset: str
    target: str  # the agent's name, or the retrieval mode
    score: float
    cases: list[CaseScore] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    model: str | None = None
    prompt_version: str | None = None
    threshold: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: UUID = field(default_factory=uuid4)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def passed(self) -> bool:
        """True when no threshold was set or the score reached it."""
        return self.threshold is None or self.score >= self.threshold


def average(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
