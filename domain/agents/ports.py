"""Ports of the agents capability."""

from __future__ import annotations

from typing import Protocol

from domain.agents.models import AgentDefinition, TurnUsage


class AgentDefinitionSource(Protocol):
    """Where agent definitions come from (YAML files, a database…)."""

    def load(self) -> list[AgentDefinition]:
        """Every definition, validated; `ConfigurationError` naming the file and field."""


class ChatMetrics(Protocol):
    """What the chat use-cases report about each turn."""

    def turn_started(self, agent: str) -> None: ...

    def first_token(self, agent: str, seconds: float) -> None: ...

    def turn_finished(
        self, agent: str, outcome: str, seconds: float, usage: TurnUsage | None
    ) -> None:
        """`outcome` is "ok" or an error code."""
