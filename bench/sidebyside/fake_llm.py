"""A zero-latency OpenAI-compatible chat server, shared by both apps of the side-by-side
benchmark: `python -m bench.sidebyside.fake_llm PORT`. `GET /v1/models` and
`POST /v1/chat/completions`, whole or streamed (SSE chunks ending in `data: [DONE]`), no
sleeps, so what is measured is the apps' own cost."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

MODEL = "fake-chat"
WORDS = ("Sure,", " here", " is", " a short", " answer.")
USAGE = {"prompt_tokens": 12, "completion_tokens": len(WORDS), "total_tokens": 12 + len(WORDS)}
MODELS = json.dumps(
    {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "b"}]}
).encode()
WHOLE = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(WORDS)},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }
).encode()


def _chunk(delta: dict[str, object], finish: str | None, usage: bool = False) -> bytes:
    body: dict[str, object] = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = USAGE
    return b"data: " + json.dumps(body).encode() + b"\n\n"


CHUNKS = [
    _chunk({"role": "assistant", "content": w} if i == 0 else {"content": w}, None)
    for i, w in enumerate(WORDS)
]
TAIL = [_chunk({}, "stop"), _chunk({}, None, usage=True), b"data: [DONE]\n\n"]


async def models(_request: Request) -> Response:
    return Response(MODELS, media_type="application/json")


async def completions(request: Request) -> Response:
    body = json.loads(await request.body())
    if not body.get("stream"):
        return Response(WHOLE, media_type="application/json")

    async def events() -> AsyncIterator[bytes]:
        for chunk in CHUNKS:
            yield chunk
        for chunk in TAIL:
            yield chunk

    return StreamingResponse(events(), media_type="text/event-stream")


app = Starlette(
    routes=[
        Route("/v1/models", models),
        Route("/v1/chat/completions", completions, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
