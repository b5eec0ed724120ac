"""One loopback stand-in for the hosted model APIs Pydantic AI's providers call, to check the
requests they send offline (served by tests/fakes/loopback.py).

Each provider's SDK is pointed at it by the variable it reads for its address
(`OPENAI_BASE_URL`, `OLLAMA_BASE_URL`, `ANTHROPIC_BASE_URL`, `GROQ_BASE_URL`,
`GOOGLE_GEMINI_BASE_URL`); the path tells which API was called, and the answer has that API's
shape, carrying `REPLY`:

- `POST /v1/responses` (OpenAI: `openai:` models use the Responses API): a response;
- `POST …/chat/completions` (Ollama's OpenAI endpoint, Groq's `/openai/v1/…`, `openai-chat:`):
  an OpenAI chat completion;
- `POST /v1/messages` (Anthropic): a Messages API message, or its server-sent events when
  the request says `stream: true` (Pydantic AI's Anthropic model always streams);
- `POST /v1beta/models/{model}:generateContent` (Gemini API): a `GenerateContentResponse`.

Every request is recorded (method, path, headers, JSON body); anything else is a 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

REPLY = "Hello from the provider fake."


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ProviderFake:
    requests: list[Recorded] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        path = request.url.path
        self.requests.append(Recorded(request.method, path, dict(request.headers), body))
        if path.endswith("/chat/completions"):
            return JSONResponse(openai_completion(body))
        if path == "/v1/responses":
            return JSONResponse(openai_response(body))
        if path == "/v1/messages" and body.get("stream"):
            return StreamingResponse(iter(anthropic_events(body)), media_type="text/event-stream")
        if path == "/v1/messages":
            return JSONResponse(anthropic_message(body))
        if path.endswith(":generateContent"):
            return JSONResponse(gemini_response(path))
        return JSONResponse({"error": f"no such endpoint: {path}"}, status_code=404)


def openai_completion(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": REPLY},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def openai_response(body: dict[str, Any]) -> dict[str, Any]:
    text = {"type": "output_text", "text": REPLY, "annotations": []}
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 0,
        "status": "completed",
        "model": body.get("model", "fake"),
        "output": [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [text],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "total_tokens": 15,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def anthropic_message(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": [{"type": "text", "text": REPLY}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def anthropic_events(body: dict[str, Any]) -> list[bytes]:
    """The same message as the Messages API streams it."""
    message = anthropic_message(body) | {"content": [], "stop_reason": None}
    message["usage"] = {"input_tokens": 10, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"message": message}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": REPLY}}),
        ("content_block_stop", {"index": 0}),
        (
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {}),
    ]
    return [
        f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()
        for name, data in events
    ]


def gemini_response(path: str) -> dict[str, Any]:
    model = path.rsplit("/", 1)[-1].removesuffix(":generateContent")
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": REPLY}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
        "modelVersion": model,
        "responseId": "resp-fake",
    }
