"""llama.cpp's `timings.cache_n` becomes the turn's cached tokens (a scripted server)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from pydantic_ai.usage import RequestUsage

from adapters.lmstudio.timings import with_timings
from application.agents.runner import AgentRunner, RunFinished, usage_of
from domain.agents.models import AgentDefinition
from tests.unit.scripted_llm import Server, completion, make


def timed_completion(cache_n: int, prompt_n: int, usage: dict[str, Any]) -> httpx2.Response:
    body = completion("hello").json()
    body["usage"] = usage
    body["timings"] = {"cache_n": cache_n, "prompt_n": prompt_n, "prompt_ms": 12.5}
    return httpx2.Response(200, json=body)


def agent(server: Server) -> AgentRunner[str]:
    models, _ = make(server, model="chat-model")
    return AgentRunner(AgentDefinition(name="timed"), models=models)


async def test_cache_n_is_the_cached_count_when_usage_has_none() -> None:
    usage = {"prompt_tokens": 120, "completion_tokens": 2, "total_tokens": 122}
    result = await agent(Server(timed_completion(100, 20, usage))).run_async("hi")
    assert (usage_of(result).input_tokens, usage_of(result).cached_tokens) == (120, 100)


async def test_usage_cached_tokens_win_over_timings() -> None:
    usage = {
        "prompt_tokens": 120,
        "completion_tokens": 2,
        "total_tokens": 122,
        "prompt_tokens_details": {"cached_tokens": 64},
    }
    result = await agent(Server(timed_completion(100, 20, usage))).run_async("hi")
    assert usage_of(result).cached_tokens == 64


async def test_prompt_tokens_cover_evaluated_plus_cached() -> None:
    # a server counting only the evaluated part as prompt_tokens
    usage = {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22}
    result = await agent(Server(timed_completion(100, 20, usage))).run_async("hi")
    assert (usage_of(result).input_tokens, usage_of(result).cached_tokens) == (120, 100)


def test_malformed_timings_change_nothing() -> None:
    usage = RequestUsage(input_tokens=10, output_tokens=1)

    class Body:
        def __init__(self, timings: Any) -> None:
            self.timings = timings

    cases: list[Any] = [None, [], {"cache_n": "7"}, {"cache_n": -1}, {"cache_n": True}, {}]
    for timings in cases:
        assert with_timings(usage, Body(timings)) == usage


def sse(*chunks: dict[str, Any]) -> httpx2.Response:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return httpx2.Response(200, text=text, headers={"content-type": "text/event-stream"})


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "chat-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


async def test_streamed_timings_on_two_chunks_count_once() -> None:
    timings = {"cache_n": 90, "prompt_n": 30}
    usage_chunk = chunk({}, timings=timings)
    usage_chunk["choices"] = []
    usage_chunk["usage"] = {"prompt_tokens": 120, "completion_tokens": 2, "total_tokens": 122}
    server = Server(
        sse(
            chunk({"role": "assistant", "content": "hel"}),
            chunk({"content": "lo"}, "stop", timings=timings),
            usage_chunk,
        )
    )
    finished = [item async for item in agent(server).run_stream("hi")][-1]
    assert isinstance(finished, RunFinished)
    usage = usage_of(finished.result)
    assert (usage.input_tokens, usage.cached_tokens) == (120, 90)
