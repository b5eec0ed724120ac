"""Cached prompt tokens from llama.cpp's `timings`, where the server reports them.

OpenAI-style servers put the cached count in `usage.prompt_tokens_details.cached_tokens`
(Pydantic AI maps it to `cache_read_tokens`). llama.cpp's C++ `llama-server` also answers
with a top-level `timings` object: `cache_n` (prompt tokens reused from its KV cache) and
`prompt_n` (prompt tokens evaluated), on a completion and on the last chunk of a stream.
Where usage carries no cached count, `cache_n` is taken instead. llama-cpp-python's server
(the bundled one) sends neither, so its cached count stays 0.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic_ai.models.openai import OpenAIChatModel, OpenAIStreamedResponse
from pydantic_ai.usage import RequestUsage


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return int(value)


def with_timings(usage: RequestUsage, response: Any) -> RequestUsage:
    """`usage` with `timings.cache_n` as its cached tokens when it reports none itself; its
    input tokens at least `prompt_n + cache_n`. Unchanged without (valid) timings."""
    timings = getattr(response, "timings", None)
    if not isinstance(timings, dict):
        return usage
    cached = _count(timings.get("cache_n"))
    if cached is None:
        return usage
    evaluated = _count(timings.get("prompt_n")) or 0
    return dataclasses.replace(
        usage,
        cache_read_tokens=usage.cache_read_tokens or cached,
        input_tokens=max(usage.input_tokens, evaluated + cached),
    )


class TimingsStreamedResponse(OpenAIStreamedResponse):
    """Chunk usages are added up, and `timings` may come on more than one chunk (the last
    content chunk and the usage chunk): only the change of `cache_n` is added."""

    _timings_cached: int = 0

    def _map_usage(self, response: Any) -> RequestUsage:
        usage = super()._map_usage(response)
        timings = getattr(response, "timings", None)
        cached = _count(timings.get("cache_n")) if isinstance(timings, dict) else None
        if cached is None or usage.cache_read_tokens:
            return usage
        delta, self._timings_cached = cached - self._timings_cached, cached
        return dataclasses.replace(usage, cache_read_tokens=delta)


class LocalChatModel(OpenAIChatModel):
    """`OpenAIChatModel` that also reads llama.cpp's `timings` into the usage."""

    def _map_usage(self, response: Any) -> RequestUsage:
        return with_timings(super()._map_usage(response), response)

    @property
    def _streamed_response_cls(self) -> type[OpenAIStreamedResponse]:
        return TimingsStreamedResponse
