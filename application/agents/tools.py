"""Built-in tools and the default tool provider (a full registry arrives with the tools
capability; this one serves the built-ins by name)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic_ai import ModelRetry
from pydantic_ai.tools import Tool

from domain.agents.models import AgentDefinition


def current_time(timezone: str = "UTC") -> str:
    """The current date and time in an IANA timezone, e.g. "Europe/Paris", as ISO 8601."""
    try:
        zone = UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ModelRetry(
            f"Unknown timezone {timezone!r}; use an IANA name like 'Europe/Paris'."
        ) from None
    return datetime.now(zone).isoformat(timespec="seconds")


BUILTIN_TOOLS: dict[str, Callable[..., Any]] = {"current_time": current_time}


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
