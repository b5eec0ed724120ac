"""A chat turn streamed as Pydantic AI's own events, for its UI protocol adapters.

The Vercel AI data-stream and AG-UI endpoints hand these events to Pydantic AI's
`VercelAIAdapter` / `AGUIAdapter`, which speak the protocols. The turn itself is every
other turn (`application.chat_stream.stream_turn`): prepared and refused with no writes,
the user's message stored before the model is called, the reply stored when the run
completes (or the turn paused for approval), the user's message marked failed on an error
or when the client goes away, and the turn's chat events published for followers on any
server process.

Failure behaviour: an error before the stream (unknown agent, bad input, unknown
conversation) raises from `execute`, so the endpoint answers with the contract's error
status; an error once streaming is recorded on the user's message and then raised from
the event iterator, which the protocol adapter turns into its error event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any
from uuid import UUID

from pydantic_ai.messages import AgentStreamEvent, ModelMessage
from pydantic_ai.run import AgentRunResultEvent

from application.agents.runner import NativeEvent, RunFinished
from application.chat_events import Announcer
from application.chat_recorder import TurnRecorder
from application.chat_stream import error_event, stream_turn
from application.chat_turn import Turn, TurnPreparer
from domain.errors import MAIError
from domain.ports import EventBus

NativeStream = AsyncIterator[AgentStreamEvent | AgentRunResultEvent[Any]]


class StreamNative:
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
    ) -> tuple[UUID, NativeStream]:
        """The turn's conversation id and its events. Validates now; the stream stores the
        user's message when first read (a stream never read leaves no trace)."""
        turn = await self._preparer.prepare(
            user_id, agent, message, conversation_id, username, history
        )
        return turn.conversation.id, self._events(turn)

    async def _events(self, turn: Turn) -> NativeStream:
        announcer = Announcer(self._bus, turn.conversation.id, self._recorder.tasks)
        try:
            async with aclosing(stream_turn(self._recorder, turn, native=True)) as steps:
                async for item, event in steps:
                    if event is not None:  # the same events `StreamMessage` publishes
                        announcer.send(event)
                    if isinstance(item, NativeEvent):
                        yield item.event
                    elif isinstance(item, RunFinished):
                        yield AgentRunResultEvent(result=item.result)
        except MAIError as error:
            announcer.send(error_event(error, turn))
            raise
        finally:
            announcer.close()
