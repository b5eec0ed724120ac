"""Chat events beyond the turn that produced them: each turn's events are published on the
event bus (Redis pub/sub across server processes), and `FollowConversation` streams a
conversation's events wherever its turns run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

import structlog
from pydantic import ValidationError

from domain.agents.events import CHAT_EVENT_ADAPTER, ChatEvent
from domain.conversations.ports import ConversationStore
from domain.errors import MAIError, NotFound
from domain.ports import BackgroundTasks, EventBus

log = structlog.get_logger("mai.chat")


def conversation_channel(conversation_id: UUID) -> str:
    return f"conversation:{conversation_id}"


def event_to_dict(event: ChatEvent) -> dict[str, Any]:
    """An event as the bus carries it (JSON data, its kind in `type`)."""
    data: dict[str, Any] = CHAT_EVENT_ADAPTER.dump_python(event, mode="json")
    return data


def event_from_dict(data: dict[str, Any]) -> ChatEvent:
    """The one place a chat event is decoded: as it comes off the bus."""
    return CHAT_EVENT_ADAPTER.validate_python(data)


class Announcer:
    """Publishes one turn's events on the bus, in order, off the turn's path: `send`
    only queues; one background task per turn drains the queue. A bus outage loses
    announcements (logged), never the turn."""

    def __init__(self, bus: EventBus | None, conversation_id: UUID, tasks: BackgroundTasks) -> None:
        self._bus = bus
        self._tasks = tasks
        self._channel = conversation_channel(conversation_id)
        self._queue: asyncio.Queue[ChatEvent | None] = asyncio.Queue()
        self._publishing = False

    def send(self, event: ChatEvent) -> None:
        if self._bus is None:
            return
        self._queue.put_nowait(event)
        if not self._publishing:
            self._tasks.spawn(self._drain(self._bus), name="chat_events")
            self._publishing = True

    def close(self) -> None:
        if self._publishing:
            self._queue.put_nowait(None)

    async def _drain(self, bus: EventBus) -> None:
        while (event := await self._queue.get()) is not None:
            await _publish(bus, self._channel, event)


def announce(
    bus: EventBus | None, conversation_id: UUID, tasks: BackgroundTasks, event: ChatEvent
) -> None:
    """A turn's only event (a whole turn's DONE), published as an `Announcer` would,
    without its queue."""
    if bus is not None:
        tasks.spawn(_publish(bus, conversation_channel(conversation_id), event), name="chat_events")


async def _publish(bus: EventBus, channel: str, event: ChatEvent) -> None:
    try:
        await bus.publish(channel, event_to_dict(event))
    except MAIError as exc:
        log.warning("chat_event_not_published", code=exc.code)


class FollowConversation:
    """Every event of a conversation's turns as they happen, wherever they run (another
    server process included), until the follower stops listening. Owner only."""

    def __init__(self, conversations: ConversationStore, bus: EventBus) -> None:
        self._store = conversations
        self._bus = bus

    async def execute(
        self, user_id: UUID, conversation_id: UUID
    ) -> AsyncGenerator[ChatEvent, None]:
        if await self._store.get(user_id, conversation_id) is None:
            raise NotFound(
                "Conversation not found.", details={"conversation_id": str(conversation_id)}
            )
        return self._follow(conversation_id)

    async def _follow(self, conversation_id: UUID) -> AsyncGenerator[ChatEvent, None]:
        async with self._bus.subscribe(conversation_channel(conversation_id)) as events:
            async for data in events:
                try:
                    event = event_from_dict(data)
                except ValidationError:  # not a chat event (another version's?): skipped
                    log.warning("chat_event_undecodable", type=str(data.get("type")))
                    continue
                yield event
