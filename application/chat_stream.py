"""A chat turn run as a stream, shared by every streaming use-case (`StreamMessage`'s chat
events, `StreamNative`'s Pydantic AI events), and the chat events a turn is told in.

Failure behaviour: `stream_turn` stores the user's message when first read; if that fails
nothing was stored and the error is raised as is. Once stored, the run is under the
recorder's guard: an error is recorded on the user's message and raised (a crash as
INTERNAL_ERROR); a consumer that stops early gets the turn marked CANCELLED.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from application.agents.framework import (
    RunFinished,
    StreamItem,
    TextDelta,
    ToolCalled,
    ToolReturned,
)
from application.chat_recorder import TurnRecorder, as_error
from application.chat_turn import Turn
from domain.agents.models import ChatEvent, ChatEventType, TurnResult
from domain.errors import MAIError

#: One step of a streamed turn: the framework's item, and the chat event told of it (if any).
Step = tuple[StreamItem, ChatEvent | None]


async def stream_turn(
    recorder: TurnRecorder, turn: Turn, *, native: bool = False
) -> AsyncGenerator[Step, None]:
    """The turn's steps as the model makes them, its reply recorded before the DONE step.
    Raises the `MAIError` the turn failed with. `native`: Pydantic AI's own events too."""
    try:
        await recorder.start(turn)
    except Exception as exc:  # nothing was stored (the database is down?)
        error = as_error(exc)
        if error is exc:
            raise
        raise error from exc
    cid = turn.conversation.id
    first_token = True
    async with recorder.guard(turn):
        stream = turn.framework.run_stream(
            turn.model_prompt, history=turn.history, deps=turn.deps, native=native
        )
        async for item in stream:
            if isinstance(item, TextDelta) and first_token:
                recorder.first_token(turn)
                first_token = False
            if isinstance(item, RunFinished):
                done = await recorder.complete(turn, item.result)
                yield item, done_event(done)
            else:
                yield item, chat_event(item, cid)


def chat_event(item: StreamItem, cid: UUID) -> ChatEvent | None:
    """The chat event told of a framework item (None: nothing to tell)."""
    if isinstance(item, TextDelta):
        return ChatEvent(ChatEventType.DELTA, cid, text=item.text)
    if isinstance(item, ToolCalled):
        data = {"id": item.id, "name": item.name, "args": item.args}
        return ChatEvent(ChatEventType.TOOL_CALL, cid, data=data)
    if isinstance(item, ToolReturned):
        data = {"id": item.id, "name": item.name, "result": jsonable(item.result)}
        return ChatEvent(ChatEventType.TOOL_RESULT, cid, data=data)
    return None


def done_event(done: TurnResult) -> ChatEvent:
    """The DONE event of a turn that completed (or paused for an approval)."""
    data: dict[str, Any] = {"usage": done.usage.to_dict(), "output": jsonable(done.output)}
    if done.pending_approval is not None:
        data["pending_approval"] = done.pending_approval
    return ChatEvent(
        ChatEventType.DONE, done.conversation_id, message_id=done.message_id, data=data
    )


def error_event(error: MAIError, turn: Turn) -> ChatEvent:
    """The ERROR event of a failed turn, naming its user's message once that is stored."""
    return ChatEvent(
        ChatEventType.ERROR,
        turn.conversation.id,
        text=error.message,
        message_id=turn.user_message.id if turn.stored else None,
        data=error.to_dict()["error"],
    )


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, str | int | float | bool | type(None) | list | dict):
        return value
    return str(value)
