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

from application.agents.runner import (
    RunFinished,
    StreamItem,
    TextDelta,
    ToolCalled,
    ToolReturned,
)
from application.chat_recorder import TurnRecorder, as_error
from application.chat_turn import Turn
from domain.agents.events import (
    ChatEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from domain.agents.models import TurnResult
from domain.errors import MAIError

#: One step of a streamed turn: the runner's item, and the chat event told of it (if any).
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
        stream = turn.runner.run_stream(
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
    """The chat event told of a runner item (None: nothing to tell)."""
    if isinstance(item, TextDelta):
        return DeltaEvent(cid, item.text)
    if isinstance(item, ToolCalled):
        return ToolCallEvent(cid, item.id, item.name, item.args)
    if isinstance(item, ToolReturned):
        return ToolResultEvent(cid, item.id, item.name, jsonable(item.result))
    return None


def done_event(done: TurnResult) -> DoneEvent:
    """The DONE event of a turn that completed (or paused for an approval)."""
    return DoneEvent(
        done.conversation_id,
        done.message_id,
        done.usage,
        jsonable(done.output),
        done.pending_approval,
    )


def error_event(error: MAIError, turn: Turn) -> ErrorEvent:
    """The ERROR event of a failed turn, naming its user's message once that is stored."""
    message_id = turn.user_message.id if turn.stored else None
    return ErrorEvent.of(error, turn.conversation.id, message_id)


def jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, str | int | float | bool | type(None) | list | dict):
        return value
    return str(value)
