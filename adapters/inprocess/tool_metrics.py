"""An inspectable `ToolMetrics` for tests: every event in a list."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordingToolMetrics:
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # tool, version, outcome
    cache_hits: list[str] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)

    def call_finished(self, tool: str, version: str, outcome: str, seconds: float) -> None:
        self.calls.append((tool, version, outcome))

    def cache_hit(self, tool: str, version: str) -> None:
        self.cache_hits.append(tool)

    def retried(self, tool: str, version: str) -> None:
        self.retries.append(tool)

    def outcomes(self, tool: str) -> list[str]:
        return [outcome for name, _, outcome in self.calls if name == tool]
