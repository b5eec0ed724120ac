"""Counting tokens with the server's own tokenizer, where it has one.

Checked per server (2026-12): llama-cpp-python's server (the bundled one) has
`POST /extras/tokenize/count` (`{"input", "model"}` -> `{"count"}`); llama.cpp's C++
`llama-server` has `POST /tokenize` (`{"content"}` -> `{"tokens": [...]}`); LM Studio's
OpenAI-compatible and REST APIs have no tokenize endpoint. The first endpoint that answers
is remembered per server; when none does, the server is not asked again (the estimate,
calibrated from `usage.prompt_tokens`, is used instead). A count costs one HTTP round trip:
callers ask only where exactness changes a decision (a message near the budget).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx2

from adapters.lmstudio.client import NO_RETRY
from adapters.lmstudio.context_window import PROBE_TIMEOUT_SECONDS, server_root

Body = Callable[[str, str], dict[str, Any]]
Read = Callable[[Any], int | None]


def _count_of(body: Any) -> int | None:
    count = body.get("count") if isinstance(body, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None


def _tokens_of(body: Any) -> int | None:
    tokens = body.get("tokens") if isinstance(body, dict) else None
    return len(tokens) if isinstance(tokens, list) else None


#: (path, request body, reader): llama-cpp-python's, then llama-server's.
ENDPOINTS: tuple[tuple[str, Body, Read], ...] = (
    ("/extras/tokenize/count", lambda text, model: {"input": text, "model": model}, _count_of),
    ("/tokenize", lambda text, model: {"content": text}, _tokens_of),
)


class ServerTokenizer:
    """`count(text, model)`: the server's token count, or None where it cannot count."""

    def __init__(
        self, http: httpx2.AsyncClient, base_url: str, headers: Callable[[], dict[str, str]]
    ) -> None:
        self._http = http
        self._root = server_root(base_url)
        self._headers = headers
        self._endpoint: tuple[str, Body, Read] | None = None
        self._probed = False
        self._lock = asyncio.Lock()

    @property
    def available(self) -> bool | None:
        """True/False once probed; None before the first count."""
        return None if not self._probed else self._endpoint is not None

    async def count(self, text: str, model: str) -> int | None:
        try:
            if self._probed:
                return await self._ask(self._endpoint, text, model) if self._endpoint else None
            async with self._lock:
                if not self._probed:
                    return await self._probe(text, model)
            return await self.count(text, model)
        except httpx2.HTTPError:
            return None  # unreachable now: not a verdict on the endpoints, ask again later

    async def _probe(self, text: str, model: str) -> int | None:
        for endpoint in ENDPOINTS:
            found = await self._ask(endpoint, text, model)
            if found is not None:
                self._endpoint, self._probed = endpoint, True
                return found
        self._probed = True
        return None

    async def _ask(self, endpoint: tuple[str, Body, Read], text: str, model: str) -> int | None:
        """The count, or None when the endpoint does not answer with one; raises
        `httpx2.HTTPError` when the server cannot be reached."""
        path, body, read = endpoint
        response = await self._http.post(
            self._root + path,
            json=body(text, model),
            headers=self._headers(),
            timeout=PROBE_TIMEOUT_SECONDS,
            extensions={NO_RETRY: True},
        )
        if response.status_code != 200:
            return None
        try:
            return read(response.json())
        except ValueError:
            return None
