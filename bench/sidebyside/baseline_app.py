"""The app a user would write instead of adopting MAI (issue #15's yardstick): FastAPI +
pyjwt + one reused Pydantic AI agent + the conversation in SQLite via aiosqlite, or, for
the production profile, in PostgreSQL via asyncpg with the recent window cached in Redis.

    python -m bench.sidebyside.baseline_app PORT LLM_BASE_URL DB_URL [REDIS_URL]

Routes mirror MAI's: `POST /login` (creates the user on first use; the side-by-side driver
signs up this way), `POST /run`, `POST /stream` (SSE), `POST /v1/chat/completions` (whole)
and a WebSocket `/ws` (token in the first frame, then one turn per frame: delta frames and
a done frame). Each turn: verify the JWT, look the user up, load the last ten messages,
store the user's message before the model is called, run the agent, store the reply.
"""

# No `from __future__ import annotations`: FastAPI resolves the routes' annotations, and
# `Depends(current_user)` names a closure that string annotations cannot reach.

import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import jwt
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, UserPromptPart
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from bench.sidebyside.baseline_store import Store, open_store

SECRET = "baseline-secret-key-of-enough-length-0123456789"
INSTRUCTIONS = "You are MAI, a helpful, concise assistant. Answer the user's question directly."


class Login(BaseModel):
    username: str


class Turn(BaseModel):
    message: str
    conversation_id: str | None = None


class ChatMessage(BaseModel):
    role: str
    content: str


class Completion(BaseModel):
    model: str
    messages: list[ChatMessage]


def history(rows: list[tuple[str, str]]) -> list[ModelMessage]:
    out: list[ModelMessage] = []
    for role, content in rows:
        if role == "user":
            out.append(ModelRequest(parts=[UserPromptPart(content=content)]))
        else:
            out.append(ModelResponse(parts=[TextPart(content=content)]))
    return out


def build(llm_url: str, db_url: str, redis_url: str | None) -> FastAPI:
    model = OpenAIChatModel("fake-chat", provider=OpenAIProvider(base_url=llm_url, api_key="x"))
    agent = Agent(model, instructions=INSTRUCTIONS)
    state: dict[str, Store] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with open_store(db_url, redis_url) as store:
            state["store"] = store
            yield

    app = FastAPI(lifespan=lifespan)

    async def user_of(token: str) -> str:
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise HTTPException(401, "invalid token") from None
        user = await state["store"].user(claims["sub"])
        if user is None:
            raise HTTPException(401, "unknown user")
        return user

    async def current_user(authorization: Annotated[str, Header()] = "") -> str:
        return await user_of(authorization.removeprefix("Bearer "))

    async def begin(user: str, turn: Turn) -> tuple[str, list[ModelMessage]]:
        store = state["store"]
        conversation = turn.conversation_id
        if conversation is None:
            conversation = await store.new_conversation(user)
        elif not await store.owns(user, conversation):
            raise HTTPException(404, "not found")
        past = history(await store.window(conversation, 10))
        await store.add(conversation, "user", turn.message)  # stored before the model runs
        return conversation, past

    @app.post("/login")
    async def login(body: Login) -> dict[str, str]:
        user = await state["store"].ensure_user(body.username)
        exp = int(time.time()) + 900
        return {"access_token": jwt.encode({"sub": user, "exp": exp}, SECRET, algorithm="HS256")}

    @app.post("/run")
    async def run(turn: Turn, user: Annotated[str, Depends(current_user)]) -> dict[str, Any]:
        conversation, past = await begin(user, turn)
        result = await agent.run(turn.message, message_history=past)
        message_id = await state["store"].add(conversation, "assistant", result.output)
        usage = result.usage
        return {
            "conversation_id": conversation,
            "message_id": message_id,
            "output": result.output,
            "usage": {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens},
        }

    async def stream_turn(user: str, turn: Turn) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        conversation, past = await begin(user, turn)
        async with agent.run_stream(turn.message, message_history=past) as streamed:
            async for text in streamed.stream_text(delta=True):
                yield "delta", {"text": text}
            output = await streamed.get_output()
        message_id = await state["store"].add(conversation, "assistant", output)
        yield "done", {"conversation_id": conversation, "message_id": message_id}

    @app.post("/stream")
    async def stream(turn: Turn, user: Annotated[str, Depends(current_user)]) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            async for kind, data in stream_turn(user, turn):
                yield f"event: {kind}\ndata: {json.dumps(data)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/chat/completions")
    async def completions(
        body: Completion, user: Annotated[str, Depends(current_user)]
    ) -> dict[str, Any]:
        *earlier, last = body.messages
        conversation = await state["store"].new_conversation(user)
        await state["store"].add(conversation, "user", last.content)
        past = history([(m.role, m.content) for m in earlier if m.role in ("user", "assistant")])
        result = await agent.run(last.content, message_history=past)
        await state["store"].add(conversation, "assistant", result.output)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.output},
                    "finish_reason": "stop",
                }
            ],
        }

    @app.websocket("/ws")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        user = await user_of(json.loads(await socket.receive_text())["token"])
        while True:
            turn = Turn.model_validate_json(await socket.receive_text())
            async for kind, data in stream_turn(user, turn):
                await socket.send_text(json.dumps({"type": kind, **data}))

    return app


if __name__ == "__main__":
    port, llm_url, db_url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    redis_url = sys.argv[4] if len(sys.argv) > 4 else None
    uvicorn.run(
        build(llm_url, db_url, redis_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
