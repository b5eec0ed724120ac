"""MCP servers from settings, as Pydantic AI `MCPToolset`s whose tools join the registry.

Each configured server is started (stdio: a subprocess; or reached by URL) when the
resources open, its tools are listed once and registered with `source="mcp:<name>"`;
calls then go through the same allow-list, switches, approval, logging and metrics as
Python tools. A server that cannot start fails start-up naming it (its tools would
otherwise silently vanish from agents that rely on them).
"""

from __future__ import annotations

import os
from contextlib import AsyncExitStack
from typing import Any

from fastmcp.client.transports import StdioTransport
from pydantic import ValidationError
from pydantic_ai.mcp import MCPToolset

from adapters.settings import MCPServerConfig
from domain.errors import ConfigurationError
from domain.tools.models import SEMVER_RE, ToolMetadata


def _toolset(config: MCPServerConfig) -> MCPToolset[Any]:
    client: Any
    if config.command is not None:
        env = {**os.environ, **config.env} if config.env else None
        client = StdioTransport(config.command, config.args, env=env)
    else:
        client = config.url
    return MCPToolset(
        client,
        id=f"mcp-{config.name}",
        tool_error_behavior="failed",
        init_timeout=config.timeout,
        read_timeout=config.timeout,
    )


async def open_mcp_servers(
    configs: list[MCPServerConfig], stack: AsyncExitStack
) -> list[tuple[MCPToolset[Any], list[ToolMetadata]]]:
    """Start every server (closed with `stack`) and describe its tools."""
    opened = []
    for config in configs:
        toolset = _toolset(config)
        try:
            await stack.enter_async_context(toolset)
            listed = await toolset.list_tools()
        except Exception as exc:
            raise ConfigurationError(
                f"TOOLS__MCP_SERVERS: MCP server {config.name!r} could not be started "
                f"({type(exc).__name__}: {exc}).",
                details={"variable": "TOOLS__MCP_SERVERS", "server": config.name},
            ) from exc
        metas = _describe(config, toolset.server_info.version or "", listed)
        opened.append((toolset, metas))
    return opened


def _describe(config: MCPServerConfig, version: str, listed: list[Any]) -> list[ToolMetadata]:
    """The server's tools as metadata. A tool name the framework cannot carry, or an
    approval gate naming no tool (a typo would silently leave a tool ungated), fails
    start-up naming the server, like a server that does not start."""

    def fail(problem: str) -> ConfigurationError:
        return ConfigurationError(
            f"TOOLS__MCP_SERVERS: MCP server {config.name!r} {problem}.",
            details={"variable": "TOOLS__MCP_SERVERS", "server": config.name},
        )

    gated = set(config.requires_approval)
    if unknown := sorted(gated - {"*"} - {t.name for t in listed}):
        raise fail(f"has no tools {unknown} (named in requires_approval)")
    metas = []
    for t in listed:
        try:
            metas.append(
                ToolMetadata(
                    name=t.name,
                    description=t.description or "",
                    parameters=dict(t.input_schema),
                    category=config.category,
                    version=version if SEMVER_RE.match(version) else "1.0.0",
                    requires_approval="*" in gated or t.name in gated,
                    tags=("mcp", config.name),
                    source=f"mcp:{config.name}",
                )
            )
        except ValidationError as exc:
            raise fail(f"offers a tool {t.name!r} that cannot be registered ({exc})") from exc
    return metas
