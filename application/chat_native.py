"""A chat turn streamed as Pydantic AI's own events, for its UI protocol adapters.

The Vercel AI data-stream and AG-UI endpoints hand these events to Pydantic AI's
`VercelAIAdapter` / `AGUIAdapter`, which speak the protocols. The turn itself is every
other turn: prepared and refused with no writes by `ChatTurn._prepare`, the user's message
stored before the model is called, the reply stored when the run completes (or the turn
paused for approval), the user's message marked failed on an error or when the client goes
away, and the turn's events published for followers on any server process.

Failure behaviour: an error before the stream (unknown agent, bad input, unknown
conversation) raises from `execute`, so the endpoint answers with the contract's error
status; an error once streaming is recorded on the user's message and then raised from
the event iterator, which the protocol adapter turns into its error event.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

from pydantic_ai.messages import AgentStreamEvent, ModelMessage
from pydantic_ai.run import AgentRunResultEvent

from application.agents.framework import (
    NativeEvent,
    RunFinished,
    StreamItem,
    TextDelta,
    ToolCalled,
    ToolReturned,
)
from application.chat import CANCELLED, ChatTurn, Turn, _done_event, _internal, _jsonable
from application.chat_events import Announcer
from domain.agents.models import ChatEvent, ChatEventType
from domain.errors import MAIError

NativeStream = AsyncIterator[AgentStreamEvent | AgentRunResultEvent[Any]]


def _chat_event(item: StreamItem, cid: UUID) -> ChatEvent | None:
    """The framework's own event for followers (the same as `StreamMessage` publishes)."""
    if isinstance(item, TextDelta):
        return ChatEvent(ChatEventType.DELTA, cid, text=item.text)
    if isinstance(item, ToolCalled):
        data = {"id": item.id, "name": item.name, "args": item.args}
        return ChatEvent(ChatEventType.TOOL_CALL, cid, data=data)
    if isinstance(item, ToolReturned):
        data = {"id": item.id, "name": item.name, "result": _jsonable(item.result)}
        return ChatEvent(ChatEventType.TOOL_RESULT, cid, data=data)
    return None


class StreamNative(ChatTurn):
    async def execute(
        self,
        user_id: UUID,
        agent: str,
        message: str,
        conversation_id: UUID | None = None,
        *,
        username: str | None = None,
        history: Sequence[ModelMessage] | None = None,
    ) -> tuple[UUID, NativeStream]:
        """The turn's conversation id and its events. Validates now; the stream stores the
        user's message when first read (a stream never read leaves no trace)."""
        turn = await self._prepare(user_id, agent, message, conversation_id, username, history)
        return turn.conversation.id, self._events(turn)

    async def _events(self, turn: Turn) -> NativeStream:
        cid = turn.conversation.id
        announcer = Announcer(self._bus, cid, self._tasks)
        started = finished = False
        first_token = True
        try:
            await self._start(turn)
            started = True
            stream = turn.framework.run_stream(
                turn.user_message.content, history=turn.history, deps=turn.deps, native=True
            )
            async for item in stream:
                if isinstance(item, NativeEvent):
                    yield item.event
                elif isinstance(item, RunFinished):
                    done = await self._complete(turn, item.result)
                    finished = True
                    announcer.send(_done_event(done))
                    yield AgentRunResultEvent(result=item.result)
                else:
                    if isinstance(item, TextDelta) and first_token:
                        first_token = False
                        elapsed = time.perf_counter() - turn.started
                        self._metrics.first_token(turn.framework.name, elapsed)
                    event = _chat_event(item, cid)
                    if event is not None:
                        announcer.send(event)
        except Exception as exc:
            error = exc if isinstance(exc, MAIError) else _internal(exc)
            if started and not finished:
                finished = True
                await self._fail(turn, error.to_dict()["error"], error.code)
            data = error.to_dict()["error"]
            announcer.send(ChatEvent(ChatEventType.ERROR, cid, text=error.message, data=data))
            if error is exc:
                raise
            raise error from exc
        finally:
            if started and not finished:  # the client went away: nothing half-written is kept
                await self._fail(turn, CANCELLED, "CANCELLED")
            announcer.close()
