"""OpenAI-compatible `/v1`: agents as models, so the openai SDK and tools on it work as is.

- `model` names the agent; the turn's message is the request's last message (a `user` one).
- History: clients that keep the conversation and re-send it (the `llm` CLI, Open WebUI…)
  are served as they expect: the request's earlier messages (system, user, assistant, tool)
  are the turn's history, fitted to the agent's history policy, and the turn is stored in a
  new conversation. A client `system` message is honoured as extra instructions after the
  agent's own. With the extension field `conversation_id` (returned by every response and
  chunk) the stored conversation is the history instead and the earlier messages are
  ignored.
- Server-side tool calls are not surfaced as OpenAI `tool_calls` (the client has nothing
  to execute); the agent runs them and answers in text.
- Errors keep the framework's one shape, `{"error": {"code", "message", …}}`, which the
  SDK reads (`error.message`); a failure mid-stream is sent as `data: {"error": …}`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from domain.agents.events import ChatEvent, DeltaEvent, DoneEvent, ErrorEvent
from entrypoints.rest.deps import ChatUser, ContainerDep, CurrentUser
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionIn,
    Choice,
    CompletionUsage,
    ModelList,
    ModelOut,
    chunk,
)
from entrypoints.streaming import relay

router = APIRouter(tags=["openai"], responses=ERROR_RESPONSES)

#: Agents have no creation time; they are reported as created when the process started.
STARTED = int(time.time())


@router.get("/models", response_model=ModelList)
async def list_models(_user: CurrentUser, container: ContainerDep) -> ModelList:
    agents = container.agent_catalog().all()
    return ModelList(data=[ModelOut(id=a.name, created=STARTED) for a in agents])


@router.get("/models/{model}", response_model=ModelOut)
async def get_model(model: str, _user: CurrentUser, container: ContainerDep) -> ModelOut:
    return ModelOut(id=container.agent_catalog().definition(model).name, created=STARTED)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def chat_completions(
    body: ChatCompletionIn, user: ChatUser, container: ContainerDep
) -> ChatCompletion | EventSourceResponse:
    """A `chat.completion`, or with `stream: true` SSE `chat.completion.chunk`s ending in
    `data: [DONE]` (plus a usage chunk when `stream_options.include_usage`)."""
    # The chat path's modules (Pydantic AI's messages) are imported on the first call; the
    # server warms them once it listens (entrypoints.rest.warm).
    from application.agents.client_history import to_model_messages
    from application.chat_recorder import output_text

    message, earlier = body.turn()
    history = None if body.conversation_id else to_model_messages(earlier)
    if body.stream:
        events = await container.stream_message().execute(
            user.id,
            body.model,
            message,
            body.conversation_id,
            username=user.username,
            history=history,
        )
        return EventSourceResponse(_chunks(events, body.model, body.include_usage))
    result = await container.send_message().execute(
        user.id, body.model, message, body.conversation_id, username=user.username, history=history
    )
    return ChatCompletion(
        id=f"chatcmpl-{result.message_id.hex}",
        created=int(time.time()),
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=output_text(result.output)))],
        usage=CompletionUsage.of(result.usage),
        conversation_id=result.conversation_id,
    )


async def _chunks(
    events: AsyncIterator[ChatEvent], model: str, include_usage: bool
) -> AsyncIterator[dict[str, str]]:
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    started = False

    def data(body: dict[str, Any]) -> dict[str, str]:
        return {"data": json.dumps(body, default=str)}

    async with aclosing(relay(events)) as stream:
        async for event in stream:
            cid = event.conversation_id
            if not started:
                started = True
                role = {"role": "assistant", "content": ""}
                yield data(chunk(completion_id, created, model, cid, role))
            if isinstance(event, DeltaEvent):
                yield data(chunk(completion_id, created, model, cid, {"content": event.text}))
            elif isinstance(event, DoneEvent):
                yield data(chunk(completion_id, created, model, cid, {}, finish_reason="stop"))
                if include_usage:
                    usage = CompletionUsage.of(event.usage)
                    yield data(chunk(completion_id, created, model, cid, None, usage=usage))
                yield {"data": "[DONE]"}
            elif isinstance(event, ErrorEvent):
                yield data({"error": event.body})
            # tool_call / tool_result: run server-side, nothing for an OpenAI client to do
