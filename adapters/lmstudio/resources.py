"""How the runtime opens and closes the LLM server's HTTP client (shared by the chat model
and an embedder on the same server); an async context manager the container makes a
`Resource` of."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2

from adapters.lmstudio.client import open_http_client
from adapters.settings import LMStudioSettings


@asynccontextmanager
async def open_llm_http(settings: LMStudioSettings) -> AsyncIterator[httpx2.AsyncClient]:
    """The client `open_http_client` builds (timeouts, retries, the null-content fix)."""
    client = open_http_client(settings)
    try:
        yield client
    finally:
        await client.aclose()
