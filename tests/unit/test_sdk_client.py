"""The local server's SDK client sends what the OpenAI SDK would send, without its walk.

`LocalServerOpenAI` skips `openai._utils._transform` on chat completions because chat
parameters declare no alias and no format. The first test walks the SDK's own types and
fails the day a release declares one (the skip would then send a wrong body); the others
compare bodies with the SDK's walk and send real requests to a recording server.
"""

from __future__ import annotations

import json
import typing
from typing import Any

import httpx2
import pytest
import typing_extensions
from openai import NOT_GIVEN, AsyncOpenAI, omit
from openai._utils import PropertyInfo
from openai._utils._transform import async_maybe_transform
from openai.types.chat import completion_create_params

from adapters.lmstudio.sdk_client import LocalServerOpenAI, request_body

PARAMS = (
    completion_create_params.CompletionCreateParamsNonStreaming,
    completion_create_params.CompletionCreateParamsStreaming,
)


def _declared(tp: Any, seen: set[int], typeddicts: list[Any]) -> list[PropertyInfo]:
    """Every PropertyInfo reachable from `tp` through TypedDicts, unions and containers
    (the TypedDicts met are appended to `typeddicts`)."""
    if id(tp) in seen:
        return []
    seen.add(id(tp))
    found: list[PropertyInfo] = []
    for meta in getattr(tp, "__metadata__", ()):
        if isinstance(meta, PropertyInfo):
            found.append(meta)
    if typing_extensions.is_typeddict(tp):
        typeddicts.append(tp)
        for hint in typing_extensions.get_type_hints(tp, include_extras=True).values():
            found += _declared(hint, seen, typeddicts)
    for arg in typing.get_args(tp):
        found += _declared(arg, seen, typeddicts)
    return found


@pytest.mark.parametrize("params", PARAMS)
def test_chat_parameters_declare_no_alias_and_no_format(params: Any) -> None:
    typeddicts: list[Any] = []
    declared = _declared(params, set(), typeddicts)
    renamed = [p for p in declared if p.alias is not None or p.format is not None]
    assert renamed == []
    # The walk reaches every message type (the check is not vacuous):
    names = {t.__name__ for t in typeddicts}
    assert {
        "ChatCompletionSystemMessageParam",
        "ChatCompletionUserMessageParam",
        "ChatCompletionAssistantMessageParam",
        "ChatCompletionToolMessageParam",
        "ChatCompletionMessageFunctionToolCallParam",
        "ChatCompletionContentPartImageParam",
    } <= names


def test_the_type_walk_finds_an_alias_where_the_sdk_declares_one() -> None:
    from openai.types.beta.response_create_params import ResponseCreateParamsBase

    declared = _declared(ResponseCreateParamsBase, set(), [])
    assert "openai-beta" in {p.alias for p in declared}


def _history(n: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": "Be brief."}]
    for i in range(n):
        messages.append({"role": "user", "content": f"question {i}"})
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{i}",
                        "type": "function",
                        "function": {"name": "now", "arguments": "{}"},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"call_{i}", "content": "noon"})
        messages.append(
            {
                "role": "user",
                "content": [{"type": "text", "text": "and?"}, {"type": "text", "text": "!"}],
            }
        )
    return messages


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "now",
            "description": "The time.",
            "parameters": {"type": "object", "properties": {}},
            "strict": True,
        },
    }
]


@pytest.mark.parametrize("stream", [False, True])
async def test_the_body_is_the_one_the_sdk_walk_makes(stream: bool) -> None:
    params: dict[str, Any] = {
        "model": "local",
        "messages": _history(5),
        "tools": TOOLS,
        "tool_choice": "auto",
        "stream": stream,
        "stream_options": {"include_usage": True} if stream else omit,
        "max_tokens": 64,
        "temperature": 0.2,
        "seed": omit,
        "stop": NOT_GIVEN,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
        },
    }
    expected = await async_maybe_transform(params, PARAMS[stream])
    assert request_body(params) == expected
    assert "seed" not in request_body(params) and "stop" not in request_body(params)


def test_iterables_become_lists() -> None:
    body = request_body({"messages": (m for m in _history(1)), "stop": ("a", "b")})
    assert body["messages"] == _history(1) and body["stop"] == ["a", "b"]


def _recording_client(cls: type[AsyncOpenAI], seen: list[httpx2.Request]) -> AsyncOpenAI:
    reply = {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "local",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=reply)

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    return cls(base_url="http://local/v1", api_key="k", http_client=http, max_retries=0)


async def test_requests_match_the_sdks_own_byte_for_byte_but_the_walk() -> None:
    sent: dict[str, list[httpx2.Request]] = {"sdk": [], "local": []}
    for name, cls in (("sdk", AsyncOpenAI), ("local", LocalServerOpenAI)):
        client = _recording_client(cls, sent[name])
        completion = await client.chat.completions.create(
            model="local",
            messages=_history(3),  # type: ignore[arg-type]
            tools=TOOLS,  # type: ignore[arg-type]
            max_tokens=16,
            seed=omit,
            extra_headers={"X-Trace": "1"},
            extra_body={"cache_prompt": True},
        )
        assert completion.choices[0].message.content == "hi"
    sdk, local = sent["sdk"][0], sent["local"][0]
    assert local.url == sdk.url and local.method == sdk.method == "POST"
    assert json.loads(local.content) == json.loads(sdk.content)
    assert json.loads(local.content)["cache_prompt"] is True
    assert local.headers["authorization"] == sdk.headers["authorization"] == "Bearer k"
    assert local.headers["x-trace"] == "1"


async def test_a_copy_with_other_options_keeps_skipping_the_walk() -> None:
    client = _recording_client(LocalServerOpenAI, [])
    copy = client.with_options(max_retries=2)  # what Pydantic AI does for per-run retries
    assert isinstance(copy, LocalServerOpenAI)
    assert type(copy.chat.completions).__name__ == "_Completions"
