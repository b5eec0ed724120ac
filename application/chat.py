"""A chat turn: store the user's message, run the agent on the conversation, store the reply.

Each use-case here composes the same three parts: `TurnPreparer` (everything that can
refuse the turn, no writes), `TurnRecorder` (every write, and the one guard around the
run) and the `Announcer` that tells followers on any server process. The user's message
is committed before the model is called, and the assistant's only when the turn
completes, so a failed turn (model down, tool crash, client gone) leaves the conversation
consistent: the user's message is there, marked failed with the error.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from uuid import UUID

from pydantic_ai.messages import ModelMessage

from application.chat_events import Announcer, announce
from application.chat_recorder import TurnRecorder
from application.chat_stream import done_event, error_event, stream_turn
from application.chat_turn import Turn, TurnPreparer
from domain.agents.events import ChatEvent
from domain.agents.models import TurnResult
from domain.errors import MAIError
from domain.ports import EventBus


class SendMessage:
    def __init__(
        self, preparer: TurnPreparer, recorder: TurnRecorder, bus: EventBus | None = None
    ) -> None:
        self._preparer = preparer
        self._recorder = recorder
        self._bus = bus

    async def execute(
        self,
        user_id: UUID,
        agent: str,
        message: str,
        conversation_id: UUID | None = None,
        *,
        username: str | None = None,
        history: Sequence[ModelMessage] | None = None,
    ) -> TurnResult:
        turn = await self._preparer.prepare(
            user_id, agent, message, conversation_id, username, history
        )
        await self._recorder.start(turn)
        try:
            async with self._recorder.guard(turn):
                result = await turn.runner.run_async(
                    turn.model_prompt, history=turn.history, deps=turn.deps
                )
                done = await self._recorder.complete(turn, result)
        except MAIError as exc:
            # A new conversation was created for this turn: say which, so it can be resumed.
            exc.details.setdefault("conversation_id", str(turn.conversation.id))
            raise
        announce(self._bus, turn.conversation.id, self._recorder.tasks, done_event(done))
        return done


class StreamMessage:
    def __init__(
        self, preparer: TurnPreparer, recorder: TurnRecorder, bus: EventBus | None = None
    ) -> None:
        self._preparer = preparer
        self._recorder = recorder
        self._bus = bus

    async def execute(
        self,
        user_id: UUID,
        agent: str,
        message: str,
        conversation_id: UUID | None = None,
        *,
        username: str | None = None,
        history: Sequence[ModelMessage] | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Validate now (errors raise here, before any event); the returned stream stores the
        user's message when first read, then yields the turn's events, ending in DONE or
        ERROR. A stream never read leaves no trace."""
        turn = await self._preparer.prepare(
            user_id, agent, message, conversation_id, username, history
        )
        return self._announced(turn)

    async def _announced(self, turn: Turn) -> AsyncIterator[ChatEvent]:
        """The turn's events, also published for followers on any server process."""
        announcer = Announcer(self._bus, turn.conversation.id, self._recorder.tasks)
        try:
            # aclosing: a consumer that stops early closes the turn now (marked failed),
            # not whenever the inner generator is collected.
            async with aclosing(self._events(turn)) as events:
                async for event in events:
                    announcer.send(event)
                    yield event
        finally:
            announcer.close()

    async def _events(self, turn: Turn) -> AsyncGenerator[ChatEvent, None]:
        try:
            async with aclosing(stream_turn(self._recorder, turn)) as steps:
                async for _item, event in steps:
                    if event is not None:
                        yield event
        except MAIError as error:  # the stream has started: reported in-band, never raised
            yield error_event(error, turn)
