"""The agents this service offers: definitions by name, each built once into an `AgentRunner`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from application.agents.ports import ModelSource, ToolProvider
from application.agents.prompted import check_prompt
from application.agents.runner import AgentRunner
from application.conversation_window import ConversationWindow
from application.prompts.manager import PromptManager
from domain.agents.models import AgentDefinition
from domain.agents.ports import AgentDefinitionSource
from domain.conversations.ports import ConversationStore
from domain.errors import ConfigurationError, NotFound


class AgentCatalog:
    """Loads every definition at construction (so a bad file stops start-up) and builds each
    agent's `pydantic_ai.Agent` once, on first use; later turns reuse it."""

    def __init__(
        self,
        source: AgentDefinitionSource,
        models: ModelSource,
        tools: ToolProvider,
        conversations: ConversationStore | None = None,
        output_types: Mapping[str, type[BaseModel]] | None = None,
        window: ConversationWindow | None = None,
        prompts: PromptManager | None = None,
    ) -> None:
        self._prompts = prompts
        self._models = models
        self._tools = tools
        self._conversations = conversations
        self._window = window
        self._output_types: dict[str, type[Any]] = {"text": str, **(output_types or {})}
        self._definitions: dict[str, AgentDefinition] = {}
        self._built: dict[str, AgentRunner[Any]] = {}
        for definition in source.load():
            self.register(definition)

    def register_output_type(self, name: str, model: type[BaseModel]) -> None:
        self._output_types[name] = model

    def register(self, definition: AgentDefinition) -> None:
        """Add (or replace) an agent; its output type must be known and its tools provided."""
        self.check(definition)
        self._definitions[definition.name] = definition
        self._built.pop(definition.name, None)

    def check(self, definition: AgentDefinition) -> None:
        """What `register` checks, without registering: the output type, the tools and the
        prompt (and pinned version) exist. ConfigurationError otherwise."""
        if definition.output_type not in self._output_types:
            raise ConfigurationError(
                f"Agent {definition.name!r}: unknown output_type {definition.output_type!r} "
                f"(known: {sorted(self._output_types)}).",
                details={"agent": definition.name, "field": "output_type"},
            )
        unknown = self._tools.unknown(definition)
        if unknown:
            raise ConfigurationError(
                f"Agent {definition.name!r}: unknown tools {unknown}.",
                details={"agent": definition.name, "field": "tools"},
            )
        check_prompt(definition, self._prompts)

    def all(self) -> list[AgentDefinition]:
        return sorted(self._definitions.values(), key=lambda d: d.name)

    def definition(self, name: str) -> AgentDefinition:
        found = self._definitions.get(name)
        if found is None:
            raise NotFound(f"Agent {name!r} not found.", details={"agent": name})
        return found

    def get(self, name: str) -> AgentRunner[Any]:
        built = self._built.get(name)
        if built is None:
            definition = self.definition(name)
            # An agent allowed no tools gets no toolset: it would offer nothing, and a second
            # toolset next to the agent's own makes Pydantic AI run each toolset step (enter,
            # list tools, instructions) as a task group of one task per toolset, every turn.
            built = AgentRunner(
                definition,
                output_type=self._output_types[definition.output_type],
                models=self._models,
                toolsets=[self._tools.toolset_for(definition)] if definition.tools else [],
                deferred=self._tools.needs_approval(definition),
                conversations=self._conversations,
                window=self._window,
                prompts=self._prompts,
            )
            self._built[name] = built
        return built
