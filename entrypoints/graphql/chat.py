"""Chat over GraphQL: `sendMessage` (a whole turn) and the `chat` subscription (streamed).

An error before the stream starts (unknown agent, empty or oversized message, missing
token…) is a GraphQL error with the contract's extensions, like any other; once the turn
is streaming, a failure is an ERROR event and the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.agents.events import (
    ChatEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from entrypoints.graphql.context import Context
from entrypoints.graphql.types import TurnResultType, parse_id
from entrypoints.streaming import jsonable, relay


@strawberry.enum(name="ChatEventType")
class ChatEventKind(Enum):
    DELTA = "delta"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    DONE = "done"
    ERROR = "error"


@strawberry.type(name="ChatEvent")
class ChatEventObject:
    """One event of a streamed turn: DELTAs (`text`), TOOL_CALL (`data` {id, name, args}),
    TOOL_RESULT (`data` {id, name, result}), then DONE (`messageId`, `data` {usage, output})
    or ERROR (`text` the message, `data` {error: {code, message, details, retryable}})."""

    type: ChatEventKind
    text: str | None
    conversation_id: strawberry.ID
    message_id: strawberry.ID | None
    data: JSON | None

    @classmethod
    def of(cls, e: ChatEvent) -> ChatEventObject:
        text: str | None = None
        message_id: UUID | None = None
        data: dict[str, Any] | None = None
        match e:
            case DeltaEvent():
                text = e.text or None
            case ToolCallEvent():
                data = {"id": e.id, "name": e.name, "args": e.args}
            case ToolResultEvent():
                data = {"id": e.id, "name": e.name, "result": e.result}
            case DoneEvent():
                message_id = e.message_id
                data = {"usage": e.usage.to_dict(), "output": e.output}
                if e.pending_approval is not None:
                    data["pending_approval"] = e.pending_approval
            case ErrorEvent():
                text, message_id, data = e.message or None, e.message_id, {"error": e.body}
        return cls(
            type=ChatEventKind(e.type.value),
            text=text,
            conversation_id=strawberry.ID(str(e.conversation_id)),
            message_id=None if message_id is None else strawberry.ID(str(message_id)),
            data=jsonable(data),
        )


@strawberry.type
class ChatMutation:
    @strawberry.mutation(description="Say `message` to `agent`; the answer when complete.")
    async def send_message(
        self,
        info: Info[Context, None],
        agent: str,
        message: str,
        conversation_id: strawberry.ID | None = None,
    ) -> TurnResultType:
        user = await info.context.require_chat_user()
        cid = None if conversation_id is None else parse_id(conversation_id, "conversationId")
        result = await info.context.container.send_message().execute(
            user.id, agent, message, cid, username=user.username
        )
        return TurnResultType.of(result)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Say `message` to `agent`; the answer as it is made.")
    async def chat(
        self,
        info: Info[Context, None],
        agent: str,
        message: str,
        conversation_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[ChatEventObject, None]:
        user = await info.context.require_chat_user()
        cid = None if conversation_id is None else parse_id(conversation_id, "conversationId")
        events = await info.context.container.stream_message().execute(
            user.id, agent, message, cid, username=user.username
        )
        # aclosing: a client that completes the operation or disconnects ends the turn.
        async with aclosing(relay(events)) as stream:
            async for event in stream:
                yield ChatEventObject.of(event)

    @strawberry.subscription(
        description="Every event of a conversation's turns as they happen, whichever server "
        "process runs them (a turn started elsewhere included), until you unsubscribe."
    )
    async def conversation_events(
        self, info: Info[Context, None], conversation_id: strawberry.ID
    ) -> AsyncGenerator[ChatEventObject, None]:
        user = await info.context.require_user()
        cid = parse_id(conversation_id, "conversationId")
        events = await info.context.container.follow_conversation().execute(user.id, cid)
        async with aclosing(events) as stream:
            async for event in stream:
                yield ChatEventObject.of(event)
