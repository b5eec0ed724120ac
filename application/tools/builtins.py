"""Built-in tools and the default tool provider (a full registry arrives with the tools
capability; this one serves the built-ins by name)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic_ai import ModelRetry, RunContext
from pydantic_ai.tools import Tool

from application.agents.framework import AgentDeps
from application.memory import NewMemory
from domain.agents.models import AgentDefinition
from domain.memory.long_term import MemoryKind


def current_time(timezone: str = "UTC") -> str:
    """The current date and time in an IANA timezone, e.g. "Europe/Paris", as ISO 8601."""
    try:
        zone = UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ModelRetry(
            f"Unknown timezone {timezone!r}; use an IANA name like 'Europe/Paris'."
        ) from None
    return datetime.now(zone).isoformat(timespec="seconds")


async def recall_memory(ctx: RunContext[AgentDeps], query: str, k: int = 5) -> list[str]:
    """Search what you remember about this user (facts, preferences, past conversations)."""
    memory, user = ctx.deps.memory, ctx.deps.user_id
    if memory is None or user is None:
        raise ModelRetry("Long-term memory is not available right now; answer without it.")
    found = await memory.retrieve(user, query, k=max(1, min(k, 10)))
    return [item.memory.content for item in found.items]


async def remember(ctx: RunContext[AgentDeps], content: str, kind: str = "fact") -> str:
    """Remember something about this user for later conversations.
    `kind` is "fact", "preference" or "episodic"."""
    memory, user = ctx.deps.memory, ctx.deps.user_id
    if memory is None or user is None:
        raise ModelRetry("Long-term memory is not available right now.")
    try:
        memory_kind = MemoryKind(kind)
    except ValueError:
        raise ModelRetry('kind must be "fact", "preference" or "episodic".') from None
    await memory.store(
        user, NewMemory(content, memory_kind, source_conversation_id=ctx.deps.conversation_id)
    )
    return "Remembered."


BUILTIN_TOOLS: dict[str, Callable[..., Any]] = {
    "current_time": current_time,
    "recall_memory": recall_memory,
    "remember": remember,
}


class StaticToolProvider:
    """Serves tools from a fixed mapping of name → function (built once, reused)."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        funcs = BUILTIN_TOOLS if functions is None else functions
        self._tools = {name: Tool(fn, name=name) for name, fn in funcs.items()}

    def add(self, name: str, function: Callable[..., Any]) -> None:
        self._tools[name] = Tool(function, name=name)

    def tools_for(self, definition: AgentDefinition) -> list[Tool[Any]]:
        return [self._tools[n] for n in definition.tools if n in self._tools]

    def unknown(self, definition: AgentDefinition) -> list[str]:
        return [n for n in definition.tools if n not in self._tools]
