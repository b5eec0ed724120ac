"""A tiny OpenAI-compatible chat server for the fault tests, run as a process of its own so
a test can kill it like a crashed LM Studio: `python -m tests.faults.fake_llm PORT`.

It answers what `adapters/lmstudio` asks: `GET /v1/models` (model auto-detection, the
health check) and `POST /v1/chat/completions`, whole or streamed (SSE chunks ending in
`data: [DONE]`). Answers are spread over a fraction of a second, so a kill lands while
some turns are in flight.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "fake-chat"
WORDS = ("All", "good", "here,", "thanks", "for", "asking.")
CHUNK_DELAY = 0.04  # seconds between streamed words (and the whole answer's delay)
USAGE = {"prompt_tokens": 12, "completion_tokens": len(WORDS), "total_tokens": 12 + len(WORDS)}


async def models(_request: Request) -> Response:
    entry = {"id": MODEL, "object": "model", "created": 0, "owned_by": "mai-tests"}
    return JSONResponse({"object": "list", "data": [entry]})


def _chunk(ident: str, delta: dict[str, Any], finish: str | None) -> bytes:
    body = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


async def completions(request: Request) -> Response:
    body = await request.json()
    ident = f"chatcmpl-{uuid.uuid4().hex}"
    if not body.get("stream"):
        await asyncio.sleep(CHUNK_DELAY * len(WORDS))
        return JSONResponse(
            {
                "id": ident,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": " ".join(WORDS)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": USAGE,
            }
        )

    async def events() -> AsyncIterator[bytes]:
        for i, word in enumerate(WORDS):
            delta = {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
            yield _chunk(ident, delta, None)
            await asyncio.sleep(CHUNK_DELAY)
        yield _chunk(ident, {}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": MODEL,
                "choices": [],
                "usage": USAGE,
            }
            yield f"data: {json.dumps(usage)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


app = Starlette(
    routes=[
        Route("/v1/models", models),
        Route("/v1/chat/completions", completions, methods=["POST"]),
    ]
)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
