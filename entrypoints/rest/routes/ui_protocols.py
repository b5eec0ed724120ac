"""Per-agent endpoints for the standard chat UI protocols, spoken by Pydantic AI's own
adapters: `POST /agents/{name}/vercel-ai` (the Vercel AI SDK's UI message stream, as
`useChat` sends and reads it) and `POST /agents/{name}/ag-ui` (AG-UI, as CopilotKit and
other AG-UI clients do).

Both protocols send the whole conversation each time. The last message (the user's) is the
turn's message; the ones before it are its history, unless the request's conversation id
(Vercel AI's chat `id`, AG-UI's `threadId`) is the id of one of the caller's stored
conversations, whose stored history is used instead. Otherwise the turn is stored in a new
conversation. Either way the answer carries the conversation's id in `X-Conversation-ID`,
and the turn is stored as every other turn is (`application/chat_native.py`). Client system
messages are stripped, as the adapters do by default (the agent owns its instructions).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from container import Container
from domain.errors import NotFound, ValidationFailed
from domain.identity.models import User
from entrypoints.rest.deps import ChatUser, ContainerDep
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.streaming import relay

if TYPE_CHECKING:
    from pydantic_ai.ui import UIAdapter

# Each protocol's adapter (pydantic_ai.ui.*, ~0.15 s together) is imported by the first
# request that speaks it, not with the app (issue #15).

router = APIRouter(prefix="/agents", tags=["ui-protocols"], responses=ERROR_RESPONSES)
STREAM: dict[int | str, dict[str, Any]] = {200: {"content": {"text/event-stream": {}}}}


async def _stored(container: Container, user: User, raw: str | None) -> UUID | None:
    """The request's conversation id when it names one of the caller's conversations."""
    try:
        cid = UUID(raw) if raw else None
    except ValueError:
        return None
    if cid is None:
        return None
    try:
        await container.get_conversation().execute(user.id, cid)
    except NotFound:
        return None
    return cid


async def _closing(adapter: UIAdapter[Any, Any, Any, Any, Any], events: Any) -> AsyncIterator[Any]:
    """The protocol's events; a client that goes away closes the turn now (marked failed,
    nothing half-written), its clean-up relayed out of the cancelled response task."""
    relayed = relay(events)
    protocol = cast(AsyncGenerator[Any, None], adapter.transform_stream(relayed))
    async with aclosing(relayed), aclosing(protocol) as stream:
        async for event in stream:
            yield event


async def _serve(
    kind: type[UIAdapter[Any, Any, Any, Any, Any]],
    name: str,
    request: Request,
    user: User,
    container: Container,
) -> StreamingResponse:
    from application.agents.client_history import split_model_turn

    runner = container.agent_catalog().get(name)
    body = await request.body()
    try:
        run_input = kind.build_run_input(body)
    except ValidationError as exc:
        raise ValidationFailed(
            "The request is not a valid message of this protocol.",
            details={"errors": exc.errors(include_url=False, include_input=False)[:10]},
        ) from None
    adapter = kind(agent=runner.agent, run_input=run_input, accept=request.headers.get("accept"))
    message, earlier = split_model_turn(adapter.sanitize_messages(adapter.messages))
    conversation_id = await _stored(container, user, adapter.conversation_id)
    cid, events = await container.stream_native().execute(
        user.id,
        name,
        message,
        conversation_id,
        username=user.username,
        history=None if conversation_id else earlier,
    )
    response = adapter.streaming_response(_closing(adapter, events))
    response.headers["X-Conversation-ID"] = str(cid)
    return response


@router.post("/{name}/vercel-ai", responses=STREAM)
async def vercel_ai(
    name: str, request: Request, user: ChatUser, container: ContainerDep
) -> StreamingResponse:
    """The Vercel AI SDK data stream protocol (UI message stream, SSE)."""
    from pydantic_ai.ui.vercel_ai import VercelAIAdapter

    return await _serve(VercelAIAdapter, name, request, user, container)


@router.post("/{name}/ag-ui", responses=STREAM)
async def ag_ui(
    name: str, request: Request, user: ChatUser, container: ContainerDep
) -> StreamingResponse:
    """The AG-UI protocol (RunAgentInput in, AG-UI events out over SSE)."""
    from pydantic_ai.ui.ag_ui import AGUIAdapter

    return await _serve(AGUIAdapter, name, request, user, container)
