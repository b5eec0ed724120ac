"""Chat over GraphQL: `sendMessage` (a whole turn) and the `chat` subscription (streamed).

An error before the stream starts (unknown agent, empty or oversized message, missing
token…) is a GraphQL error with the contract's extensions, like any other; once the turn
is streaming, a failure is an ERROR event and the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from strawberry.types import Info

from entrypoints.graphql.context import Context
from entrypoints.graphql.types import ChatEventObject, TurnResultType, parse_id
from entrypoints.streaming import relay


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
