"""A scripted OpenAI-compatible server for the LM Studio adapter's tests
(`httpx2.MockTransport`: no network), and `make`, the adapter over it.

`Server(*answers)` answers in order (a response, an exception to raise, or a handler) and
records every request; `completion`, `models_answer` and `tool_call` build the answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

from adapters.lmstudio import LMStudioModels, open_http_client
from adapters.settings import LMStudioSettings

BASE_URL = "http://llm.test/v1"
Handler = Callable[[httpx2.Request], httpx2.Response]


class Server:
    """A scripted OpenAI-compatible server: answers in order, records every request."""

    def __init__(self, *answers: httpx2.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx2.Response):
            return answer
        return answer(request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


def models_answer(*ids: str | dict[str, Any]) -> httpx2.Response:
    data = [{"id": i, "object": "model"} if isinstance(i, str) else i for i in ids]
    return httpx2.Response(200, json={"object": "list", "data": data})


def completion(
    content: str | None = "hi", tool_calls: list[dict[str, Any]] | None = None
) -> httpx2.Response:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "chat-model",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
    )


def tool_call(name: str, arguments: str = "{}") -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


_clients: list[httpx2.AsyncClient] = []


def close_after_the_test(*clients: httpx2.AsyncClient) -> None:
    """Clients a test opened itself, closed with those `make` opened."""
    _clients.extend(clients)


async def close_clients() -> None:
    """Close every client `make` opened (tests/unit/conftest.py does, after each test)."""
    while _clients:
        await _clients.pop().aclose()


def make(
    server: Server, *, sleeps: Sleeps | None = None, **settings: Any
) -> tuple[LMStudioModels, httpx2.AsyncClient]:
    """Models over a scripted server; backoff sleeps are recorded, not slept."""
    config = LMStudioSettings(base_url=BASE_URL, **settings)
    client = open_http_client(
        config, transport=httpx2.MockTransport(server), sleep=sleeps or Sleeps()
    )
    _clients.append(client)
    return LMStudioModels(config, client), client
