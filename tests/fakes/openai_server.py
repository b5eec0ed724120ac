"""A deterministic OpenAI-compatible chat server, run as a process of its own by the suites
that need a real LLM server on the wire (the browser tests, the fault tests):
`python -m tests.fakes.openai_server PORT [--word-delay S] [--whole-delay S]`.

It answers what `adapters/lmstudio` asks: `GET /v1/models` (model auto-detection, the health
check) and `POST /v1/chat/completions`, whole or streamed (SSE chunks ending in
`data: [DONE]`, with the usage chunk when asked for).

- A user message containing "transfer" (with the `transfer` tool offered) gets a call of that
  tool: the approval-gated tool of tests/fixtures/demo_tools.py; one containing "square" a
  call of `slow_square` (n=7), which runs at once. A tool that is not offered is never called.
- After a tool result, it answers "Tool said: <the result>".
- Anything else gets `GREETING`.

The pace is the caller's: `--word-delay` between streamed words (the browser tests use a
slow one, so a page can show an answer growing), `--whole-delay` before a whole answer (the
fault tests spread answers, so a kill of this process lands while turns are in flight).

`--lmstudio` answers as LM Studio does where it differs: its REST model list
(`GET /api/v0/models`, with the loaded context length), a 400 for
`response_format: {"type": "json_object"}` (LM Studio takes only `json_schema` or `text`), and
a JSON-schema request answered with an object of that schema (`example_of`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
GREETING = "Hello from the fake model, word by word."
CALLS = [  # (a word in the user's message, the tool it calls, the arguments)
    ("transfer", "transfer", {"amount": 5, "to": "bob"}),
    ("square", "slow_square", {"n": 7}),
]


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


#: LM Studio's answer to `response_format: {"type": "json_object"}` (HTTP 400).
LMSTUDIO_FORMAT_ERROR = "'response_format.type' must be 'json_schema' or 'text'"
LMSTUDIO_CONTEXT = 4096


def example_of(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A value valid against a (simple) JSON schema: what constrained decoding returns."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return example_of(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_of(options[0], defs)
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example_of(spec, defs) for name, spec in properties.items()}
    if kind == "array":
        return [example_of(schema.get("items", {"type": "string"}), defs)]
    return {"string": "text", "integer": 1, "number": 0.5, "boolean": True}.get(kind)


def lmstudio_format_error(body: dict[str, Any]) -> Response | None:
    """LM Studio's 400 for a `response_format` it does not take."""
    form = (body.get("response_format") or {}).get("type")
    if form is None or form in ("json_schema", "text"):
        return None
    return JSONResponse({"error": LMSTUDIO_FORMAT_ERROR}, status_code=400)


def schema_answer(body: dict[str, Any]) -> str | None:
    """The JSON text a `json_schema` request is answered with (None: not such a request)."""
    form = body.get("response_format") or {}
    if form.get("type") != "json_schema":
        return None
    return json.dumps(example_of(form["json_schema"]["schema"]))


def usage(text: str) -> dict[str, int]:
    words = max(1, len(text.split()))
    return {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}


def _chunk(ident: str, delta: dict[str, Any], finish: str | None) -> bytes:
    return _event(ident, choices=[{"index": 0, "delta": delta, "finish_reason": finish}])


def _event(ident: str, **fields: Any) -> bytes:
    body = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time())}
    return f"data: {json.dumps(body | {'model': MODEL} | fields)}\n\n".encode()


def build_app(
    word_delay: float = 0.0, whole_delay: float = 0.0, *, lmstudio: bool = False
) -> Starlette:
    async def models(_request: Request) -> Response:
        entry = {"id": MODEL, "object": "model", "created": 0, "owned_by": "mai-tests"}
        return JSONResponse({"object": "list", "data": [entry]})

    async def lmstudio_models(_request: Request) -> Response:
        entry = {
            "id": MODEL,
            "object": "model",
            "type": "llm",
            "state": "loaded",
            "max_context_length": 32768,
            "loaded_context_length": LMSTUDIO_CONTEXT,
        }
        return JSONResponse({"object": "list", "data": [entry]})

    async def completions(request: Request) -> Response:
        body = await request.json()
        ident = f"chatcmpl-{uuid.uuid4().hex}"
        if lmstudio and (refused := lmstudio_format_error(body)) is not None:
            return refused
        text, call = decide(body)
        if lmstudio and (typed := schema_answer(body)) is not None:
            text, call = typed, None
        if not body.get("stream"):
            await asyncio.sleep(whole_delay)
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if call:
                message["tool_calls"] = [call]
            finish = "tool_calls" if call else "stop"
            choice = {"index": 0, "message": message, "finish_reason": finish}
            return JSONResponse(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": MODEL,
                    "choices": [choice],
                    "usage": usage(text),
                }
            )

        async def events() -> AsyncIterator[bytes]:
            if call:
                yield _chunk(
                    ident, {"role": "assistant", "tool_calls": [{"index": 0, **call}]}, None
                )
                yield _chunk(ident, {}, "tool_calls")
            else:
                for i, word in enumerate(text.split(" ")):
                    first = {"role": "assistant", "content": word}
                    yield _chunk(ident, first if i == 0 else {"content": " " + word}, None)
                    await asyncio.sleep(word_delay)
                yield _chunk(ident, {}, "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                yield _event(ident, choices=[], usage=usage(text))
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    routes = [
        Route("/v1/models", models),
        Route("/v1/chat/completions", completions, methods=["POST"]),
    ]
    if lmstudio:
        routes.append(Route("/api/v0/models", lmstudio_models))
    return Starlette(routes=routes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--word-delay", type=float, default=0.0, help="seconds between words")
    parser.add_argument(
        "--whole-delay", type=float, default=0.0, help="seconds before a whole answer"
    )
    parser.add_argument(
        "--lmstudio", action="store_true", help="LM Studio's model list and response_format rules"
    )
    args = parser.parse_args()
    app = build_app(args.word_delay, args.whole_delay, lmstudio=args.lmstudio)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
