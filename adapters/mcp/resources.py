"""How the runtime starts and stops the MCP servers of TOOLS__MCP_SERVERS; an async
context manager the container makes a `Resource` of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from adapters.settings import MCPServerConfig
from domain.tools.models import ToolMetadata


@asynccontextmanager
async def open_mcp_servers(
    configs: list[MCPServerConfig],
) -> AsyncIterator[list[tuple[Any, list[ToolMetadata]]]]:
    """Every server started, as (its `MCPToolset`, its tools); all stopped on close."""
    if not configs:  # the MCP client stack is heavy to import: only if used
        yield []
        return
    from adapters.mcp.servers import open_mcp_servers as start

    async with AsyncExitStack() as stack:
        yield await start(configs, stack)
