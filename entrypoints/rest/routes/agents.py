"""/agents: the agents on offer, and chat turns with them (whole, or streamed as SSE).

A streamed turn is validated before the response starts, so a bad request still gets a
plain HTTP error; once streaming, a failure arrives in-band as `event: error`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from domain.agents.events import (
    ChatEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from entrypoints.rest.deps import ChatUser, ContainerDep, CurrentUser
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.schemas import AgentList, AgentOut, ChatIn, RunOut
from entrypoints.streaming import relay

router = APIRouter(prefix="/agents", tags=["agents"], responses=ERROR_RESPONSES)

STREAM_DOC = """Server-sent events, in order:
`event: delta` `{"text"}` (any number), `event: tool_call` `{"id","name","args"}` and
`event: tool_result` `{"id","name","result"}` as tools run, then exactly one of
`event: done` `{"conversation_id","message_id","usage"}` (plus `pending_approval` when the
turn paused for a person to approve a tool call) or
`event: error` `{"error": {"code","message","details","retryable"}}`."""


@router.get("", response_model=AgentList)
async def list_agents(_user: CurrentUser, container: ContainerDep) -> AgentList:
    return AgentList(items=[AgentOut.of(d) for d in container.agent_catalog().all()])


@router.get("/{name}", response_model=AgentOut)
async def get_agent(name: str, _user: CurrentUser, container: ContainerDep) -> AgentOut:
    return AgentOut.of(container.agent_catalog().definition(name))


@router.post("/{name}/run", response_model=RunOut)
async def run_agent(name: str, body: ChatIn, user: ChatUser, container: ContainerDep) -> RunOut:
    """One turn, answered when complete."""
    result = await container.send_message().execute(
        user.id, name, body.message, body.conversation_id, username=user.username
    )
    return RunOut.of(result)


@router.post(
    "/{name}/stream",
    response_class=EventSourceResponse,
    responses={200: {"description": STREAM_DOC, "content": {"text/event-stream": {}}}},
)
async def stream_agent(
    name: str, body: ChatIn, user: ChatUser, container: ContainerDep
) -> EventSourceResponse:
    """One turn, streamed as server-sent events (see the 200 response)."""
    events = await container.stream_message().execute(
        user.id, name, body.message, body.conversation_id, username=user.username
    )
    return EventSourceResponse(_sse(events))


async def _sse(events: AsyncIterator[ChatEvent]) -> AsyncIterator[ServerSentEvent]:
    # aclosing: when the client goes away, sse-starlette cancels or closes this generator,
    # and closing `relay` ends the turn (its user message is then marked failed).
    async with aclosing(relay(events)) as stream:
        async for event in stream:
            yield ServerSentEvent(
                event=event.type.value, data=json.dumps(sse_data(event), default=str)
            )


def sse_data(event: ChatEvent) -> dict[str, Any]:
    """The `data:` of each event type, as CONTRACT.md fixes it."""
    match event:
        case DeltaEvent():
            return {"text": event.text}
        case ToolCallEvent():
            return {"id": event.id, "name": event.name, "args": event.args}
        case ToolResultEvent():
            return {"id": event.id, "name": event.name, "result": event.result}
        case DoneEvent():
            done = {
                "conversation_id": str(event.conversation_id),
                "message_id": str(event.message_id),
                "usage": event.usage.to_dict(),
            }
            if event.pending_approval is not None:  # the turn waits for a tool's approval
                done["pending_approval"] = event.pending_approval
            return done
        case ErrorEvent():
            return {"error": event.body}
