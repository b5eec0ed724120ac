"""Ports the agent runtime needs that speak Pydantic AI's types (so they live here, not in
the domain, which imports no framework)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic_ai.models import Model
from pydantic_ai.toolsets import AbstractToolset

from domain.agents.models import AgentDefinition


class ModelSource(Protocol):
    """Hands out the chat model to run an agent on (LM Studio, or a fake in tests)."""

    async def model(self, name: str | None = None) -> Model:
        """The named model, or the default one; `ModelUnavailable` if it cannot be had."""

    async def list_models(self) -> list[str]:
        """Names of the chat models on offer; `ModelUnavailable` if the server is down."""

    async def context_window(self, name: str | None = None) -> int | None:
        """The model's context window in tokens, where the server says (or it is
        configured); None when unknown. Never raises: a budget is not worth a failed turn."""


@runtime_checkable
class TokenCountingSource(Protocol):
    """A `ModelSource` whose server can count tokens with the model's own tokenizer."""

    async def count_tokens(self, text: str, name: str | None = None) -> int | None:
        """`text`'s token count, or None where the server cannot say. Never raises."""


class ToolProvider(Protocol):
    """The tools an agent may use, by its definition's allow-list (the `ToolRegistry`)."""

    def toolset_for(self, definition: AgentDefinition) -> AbstractToolset[Any]:
        """A toolset showing the model only the allowed, enabled tools."""

    def unknown(self, definition: AgentDefinition) -> list[str]:
        """Allow-list entries that name no registered tool (or version)."""

    def needs_approval(self, definition: AgentDefinition) -> bool:
        """Whether an allowed tool can pause a turn for a person's approval."""
