"""The OpenAI SDK client for the local server, minus one walk the chat request never needs.

Before sending a chat completion, the SDK's `create` walks the whole request body against
its TypedDicts (`openai._utils._transform`) to rename aliased keys and format dates and
files. Chat-completion parameters declare no alias and no format (the SDK's own types say
so; `tests/unit/test_sdk_client.py` walks them and fails the day a release adds one), so
the walk gives the body back unchanged — at a cost that grows with the history, every
message tried against every message type: 2.8 ms for 10 messages and 9.5 ms for 40 per
request on the 2-core machine, as much as the whole hand-written app's turn (BENCHMARKS.md,
issue 15). This client sends the same body without the walk: omitted parameters dropped,
as the SDK drops them; headers, options, retries, errors, streaming and the response types
are the SDK's own (`_post`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx2
from openai import AsyncOpenAI, AsyncStream
from openai._base_client import make_request_options
from openai._compat import cached_property
from openai._types import NOT_GIVEN, Body, Headers, NotGiven, Query
from openai._utils import is_given
from openai.resources.chat import AsyncChat
from openai.resources.chat.completions import AsyncCompletions
from openai.resources.chat.completions.completions import validate_response_format
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel


def request_body(params: Mapping[str, Any]) -> dict[str, Any]:
    """What the SDK's walk makes of chat parameters without aliases or formats: the given
    ones, iterables as lists, models as their JSON fields."""
    body: dict[str, Any] = {}
    for key, value in params.items():
        if not is_given(value):
            continue
        if isinstance(value, BaseModel):
            value = value.model_dump(exclude_unset=True, mode="json")
        elif isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping | list):
            value = list(value)
        body[key] = value
    return body


class _Completions(AsyncCompletions):
    async def create(  # type: ignore[override]
        self,
        *,
        extra_headers: Headers | None = None,
        extra_query: Query | None = None,
        extra_body: Body | None = None,
        timeout: float | httpx2.Timeout | NotGiven | None = NOT_GIVEN,  # noqa: ASYNC109 - the SDK's own signature
        **params: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        validate_response_format(params.get("response_format", NOT_GIVEN))
        stream = bool(params.get("stream") or False)
        return await self._post(
            "/chat/completions",
            body=request_body(params),
            options=make_request_options(
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                timeout=timeout,
                security={"bearer_auth": True},
            ),
            cast_to=ChatCompletion,
            stream=stream,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )


class _Chat(AsyncChat):
    @cached_property
    def completions(self) -> AsyncCompletions:
        return _Completions(self._client)


class LocalServerOpenAI(AsyncOpenAI):
    """`AsyncOpenAI` whose chat completions skip the request walk (see the module)."""

    @cached_property
    def chat(self) -> AsyncChat:
        return _Chat(self)
