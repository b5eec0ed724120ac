"""The chat turn's parts: its typed events on the bus, and the one run guard."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

import pytest
from dependency_injector import providers
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.conversations import InProcessConversationStore
from adapters.inprocess.event_bus import InProcessEventBus
from adapters.inprocess.models import StaticModelSource
from application.chat_events import (
    FollowConversation,
    conversation_channel,
    event_from_dict,
    event_to_dict,
)
from application.chat_turn import reaches_memory
from container import Container
from domain.agents.events import (
    ChatEvent,
    DeltaEvent,
    DoneEvent,
    ErrorEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from domain.agents.models import AgentDefinition, MemoryPolicy, TurnUsage
from domain.conversations.models import Conversation, Message, MessageStatus, Role
from domain.errors import MAIError, ModelUnavailable, ServiceUnavailable
from runtime import AppRuntime
from tests.conftest import make_container, make_settings
from tests.fakes import echo_model

CID, MID = uuid4(), uuid4()
EVENTS: list[ChatEvent] = [
    DeltaEvent(CID, "Hel"),
    ToolCallEvent(CID, "call-1", "calculator", {"expression": "2+2"}),
    ToolResultEvent(CID, "call-1", "calculator", {"value": 4}),
    DoneEvent(CID, MID, TurnUsage(1, 10, 5, 1, 2), {"answer": 4}),
    DoneEvent(CID, MID, TurnUsage(), None, {"id": str(uuid4()), "calls": []}),
    ErrorEvent.of(ModelUnavailable("down", details={"attempts": 3}), CID, MID),
    ErrorEvent(CID, "CANCELLED", "gone"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_each_chat_event_crosses_the_bus_as_json_and_comes_back_the_same(
    event: ChatEvent,
) -> None:
    data = json.loads(json.dumps(event_to_dict(event)))  # what Redis carries
    assert data["type"] == event.type.value
    assert event_from_dict(data) == event


def test_an_error_event_carries_the_contracts_error_object() -> None:
    error = ModelUnavailable("The model is down.", details={"attempts": 3})
    event = ErrorEvent.of(error, CID)
    assert event.body == error.to_dict()["error"]
    again = event.as_error()
    assert (again.code, again.message, again.details, again.retryable) == (
        "MODEL_UNAVAILABLE",
        "The model is down.",
        {"attempts": 3},
        True,
    )


class WatchedBus(InProcessEventBus):
    """Says when someone has subscribed (a follower subscribes on its first read)."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribed = asyncio.Event()

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async with super().subscribe(channel) as events:
            self.subscribed.set()
            yield events


async def test_a_follower_skips_what_is_not_a_chat_event() -> None:
    store, bus = InProcessConversationStore(), WatchedBus()
    owner = uuid4()
    conversation = Conversation(user_id=owner, agent_name="assistant")
    await store.create(conversation)
    events = await FollowConversation(store, bus).execute(owner, conversation.id)
    following = asyncio.ensure_future(anext(events))
    await bus.subscribed.wait()
    channel = conversation_channel(conversation.id)
    await bus.publish(channel, {"type": "delta", "conversation_id": "not-a-uuid"})
    await bus.publish(channel, {"type": "something-else"})
    await bus.publish(channel, event_to_dict(DeltaEvent(conversation.id, "hi")))
    assert await following == DeltaEvent(conversation.id, "hi")
    await events.aclose()


# --- the run guard ---------------------------------------------------------------------


class ReplyRefusingStore(InProcessConversationStore):
    """Stores the user's message, then fails on the assistant's (the database went away)."""

    async def add_message(self, user_id: UUID, message: Message) -> Any:
        if message.role is Role.ASSISTANT:
            raise ServiceUnavailable("The database is unavailable.")
        return await super().add_message(user_id, message)


async def chat(model: Any = None, store: Any = None) -> tuple[Container, UUID]:
    container = make_container(make_settings())
    container.model_source.override(providers.Object(StaticModelSource(model or echo_model())))
    if store is not None:
        container.conversation_store.override(providers.Object(store))
    await AppRuntime(container).open()
    user = await container.register_user().execute("ada", "ada@example.com", "password123")
    return container, user.id


async def only_message(c: Container, uid: UUID) -> Message:
    [conversation] = (await c.list_conversations().execute(uid)).items
    [message] = (await c.list_messages().execute(uid, conversation.id)).items
    return message


def crash(_messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
    raise RuntimeError("a bug in a model adapter")


async def test_a_crash_is_recorded_and_raised_as_an_internal_error() -> None:
    c, uid = await chat(FunctionModel(crash))
    with pytest.raises(MAIError) as info:
        await c.send_message().execute(uid, "assistant", "hello")
    assert info.value.code == "INTERNAL_ERROR" and info.value.retryable
    assert isinstance(info.value.__cause__, RuntimeError)
    message = await only_message(c, uid)
    assert message.status is MessageStatus.FAILED
    assert message.error is not None and message.error["code"] == "INTERNAL_ERROR"
    assert info.value.details["conversation_id"] == str(message.conversation_id)


async def test_a_reply_that_cannot_be_stored_fails_the_turn_whole_or_streamed() -> None:
    c, uid = await chat(store=ReplyRefusingStore())
    with pytest.raises(ServiceUnavailable):
        await c.send_message().execute(uid, "assistant", "hello")
    message = await only_message(c, uid)
    assert message.status is MessageStatus.FAILED
    assert message.error is not None and message.error["code"] == "SERVICE_UNAVAILABLE"

    stream = await c.stream_message().execute(uid, "assistant", "again", message.conversation_id)
    events = [e async for e in stream]
    error = events[-1]
    assert isinstance(error, ErrorEvent) and error.code == "SERVICE_UNAVAILABLE"
    page = await c.list_messages().execute(uid, message.conversation_id)
    assert [(m.content, m.status) for m in page.items] == [
        ("hello", MessageStatus.FAILED),
        ("again", MessageStatus.FAILED),
    ]
    assert page.items[1].id == error.message_id


async def test_a_turn_that_cannot_store_its_message_reports_no_message() -> None:
    class Down(InProcessConversationStore):
        async def create(self, conversation: Conversation, first: Message | None = None) -> None:
            raise ServiceUnavailable("The database is unavailable.")

    c, uid = await chat(store=Down())
    events = [e async for e in await c.stream_message().execute(uid, "assistant", "hello")]
    [error] = events
    assert isinstance(error, ErrorEvent) and error.code == "SERVICE_UNAVAILABLE"
    assert error.message_id is None  # nothing was stored, so nothing is marked failed


# --- what a turn is given ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "reaches"),
    [
        (AgentDefinition(name="plain"), False),
        (AgentDefinition(name="recalls", memory=MemoryPolicy(recall_k=2)), True),
        (AgentDefinition(name="remembers", memory=MemoryPolicy(episodes=True)), True),
        (AgentDefinition(name="learns", memory=MemoryPolicy(extract_facts=True)), True),
        (AgentDefinition(name="tooled", tools=("calculator",)), True),
    ],
    ids=lambda v: v.name if isinstance(v, AgentDefinition) else str(v),
)
async def test_a_turn_gets_long_term_memory_when_its_agent_can_use_it(
    definition: AgentDefinition, reaches: bool
) -> None:
    c, uid = await chat()
    c.agent_catalog().register(definition)
    turn = await c.chat_package.turn_preparer().prepare(uid, definition.name, "hello", None)
    assert reaches_memory(definition) is reaches
    assert (turn.deps.memory is not None) is reaches
