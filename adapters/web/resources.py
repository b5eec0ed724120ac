"""How the runtime opens and closes the web fetcher behind the `http_get` tool; an async
context manager the container makes a `Resource` of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.settings import ToolSettings
from adapters.web.fetcher import HttpxWebFetcher


@asynccontextmanager
async def open_web_fetcher(settings: ToolSettings) -> AsyncIterator[HttpxWebFetcher]:
    """A fetcher limited to TOOLS__HTTP_ALLOWED_HOSTS and TOOLS__HTTP_MAX_BYTES."""
    fetcher = HttpxWebFetcher(settings.http_allowed_hosts, max_bytes=settings.http_max_bytes)
    try:
        yield fetcher
    finally:
        await fetcher.aclose()
