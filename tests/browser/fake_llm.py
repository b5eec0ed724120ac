"""A deterministic OpenAI-compatible chat server for the browser tests, run as a process:
`python -m tests.browser.fake_llm PORT`.

- A user message containing "transfer" (with the `transfer` tool offered) gets a call of
  that tool: the approval-gated tool of tests/fixtures/demo_tools.py; one containing
  "square" a call of `slow_square` (n=7), which runs at once.
- After a tool result, it answers "Tool said: <the result>".
- Anything else gets "Hello from the fake model, word by word." streamed one word every
  WORD_DELAY seconds, so a browser can see the answer grow before it is complete.
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

MODEL = "fake-browser"
GREETING = "Hello from the fake model, word by word."
WORD_DELAY = 0.3  # seconds between streamed words
CALLS = [  # (a word in the user's message, the tool it calls, the arguments)
    ("transfer", "transfer", {"amount": 5, "to": "bob"}),
    ("square", "slow_square", {"n": 7}),
]
USAGE = {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18}


async def models(_request: Request) -> Response:
    entry = {"id": MODEL, "object": "model", "created": 0, "owned_by": "mai-tests"}
    return JSONResponse({"object": "list", "data": [entry]})


def decide(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """The answer's text, or a tool call to make."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return f"Tool said: {last.get('content')}", None
    content = last.get("content")
    text = content if isinstance(content, str) else json.dumps(last)
    offered = {t.get("function", {}).get("name") for t in body.get("tools") or []}
    for word, tool, args in CALLS:
        if word in text.lower() and tool in offered:
            call = {
                "id": f"call_{uuid.uuid4().hex[:8]}",
                "type": "function",
                "function": {"name": tool, "arguments": json.dumps(args)},
            }
            return "", call
    return GREETING, None


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
    text, call = decide(body)
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if call:
            message["tool_calls"] = [call]
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}
        return JSONResponse(
            {
                "id": ident,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": MODEL,
                "choices": [choice],
                "usage": USAGE,
            }
        )

    async def events() -> AsyncIterator[bytes]:
        if call:
            yield _chunk(ident, {"role": "assistant", "tool_calls": [{"index": 0, **call}]}, None)
            yield _chunk(ident, {}, "tool_calls")
        else:
            for i, word in enumerate(text.split(" ")):
                delta = (
                    {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
                )
                yield _chunk(ident, delta, None)
                await asyncio.sleep(WORD_DELAY)
            yield _chunk(ident, {}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": MODEL, "choices": [], "usage": USAGE}  # fmt: skip
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
