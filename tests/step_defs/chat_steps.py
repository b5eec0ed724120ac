"""Chat steps shared by every feature (star-imported by conftest so they register, with
the `chat` fixture that holds what a scenario's chat did)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from dependency_injector import providers
from pytest_bdd import given, parsers, then, when

from adapters.inprocess.models import StaticModelSource
from domain.agents.events import ChatEvent, ChatEventType
from domain.agents.models import TurnResult
from domain.conversations.models import Message, MessageStatus
from domain.errors import MAIError
from tests.fakes import down_model, echo_model
from tests.step_defs.conftest import World


class Chat:
    """What the chat scenarios remember between steps."""

    def __init__(self) -> None:
        self.conversation_id: UUID | None = None
        self.user: str = ""
        self.turn: TurnResult | None = None
        self.events: list[ChatEvent] = []
        self.error: MAIError | None = None


@pytest.fixture
def chat() -> Chat:
    return Chat()


def use_model(world: World, model: Any) -> None:
    world.container.model_source.override(providers.Object(StaticModelSource(model)))
    world.container.agent_catalog.reset()  # rebuild with the new model source


def user_id(world: World, name: str) -> UUID:
    async def find() -> UUID:
        user = await world.container.users().get_by_username(name)
        assert user is not None
        return user.id

    return world.run(find())


def send(
    world: World,
    chat: Chat,
    name: str,
    message: str,
    conversation_id: UUID | None,
    agent: str = "assistant",
) -> None:
    chat.user = name
    try:
        chat.turn = world.run(
            world.container.send_message().execute(
                user_id(world, name), agent, message, conversation_id
            )
        )
        chat.conversation_id = chat.turn.conversation_id
        chat.error = None
    except MAIError as exc:
        chat.error = exc
        chat.turn = None
        if chat.conversation_id is None:
            page = world.run(world.container.list_conversations().execute(user_id(world, name)))
            chat.conversation_id = page.items[0].id


def stored(world: World, chat: Chat) -> list[Message]:
    assert chat.conversation_id is not None
    page = world.run(
        world.container.list_messages().execute(user_id(world, chat.user), chat.conversation_id)
    )
    return page.items


@given("the language model answers")
@when("the language model answers again")
def model_answers(world: World) -> None:
    use_model(world, echo_model())


@given("the language model is unreachable")
def model_down(world: World) -> None:
    use_model(world, down_model())


@when(parsers.parse('"{name}" says "{message}" to the "{agent}" agent'))
def says_to(world: World, chat: Chat, name: str, message: str, agent: str) -> None:
    send(world, chat, name, message, None, agent)


@when(parsers.parse('"{name}" says "{message}" in the same conversation'))
def says_again(world: World, chat: Chat, name: str, message: str) -> None:
    send(world, chat, name, message, chat.conversation_id)


@when(parsers.parse('"{name}" streams "{message}" to the "{agent}" agent'))
def streams(world: World, chat: Chat, name: str, message: str, agent: str) -> None:
    chat.user = name
    uid = user_id(world, name)

    async def collect() -> list[ChatEvent]:
        stream = await world.container.stream_message().execute(uid, agent, message, None)
        return [e async for e in stream]

    chat.events = world.run(collect())
    chat.conversation_id = chat.events[-1].conversation_id


@then(parsers.parse('the reply is "{text}"'))
def reply_is(chat: Chat, text: str) -> None:
    turn = chat.turn
    assert turn is not None and turn.output == text


@then(parsers.parse('the reply starts with "{text}"'))
def reply_starts(chat: Chat, text: str) -> None:
    turn = chat.turn
    assert turn is not None and turn.output.startswith(text)


@then(parsers.parse("the conversation holds {count:d} messages, alternating user and assistant"))
def holds(world: World, chat: Chat, count: int) -> None:
    roles = [m.role.value for m in stored(world, chat)]
    assert roles == ["user", "assistant"] * (count // 2)


@then("she receives several text deltas followed by done")
def deltas_then_done(chat: Chat) -> None:
    kinds = [e.type for e in chat.events]
    assert kinds.count(ChatEventType.DELTA) >= 2
    assert kinds[-1] is ChatEventType.DONE


@then("the stored reply equals the streamed text")
def stored_equals_stream(world: World, chat: Chat) -> None:
    events = chat.events
    text = "".join(e.text for e in events if e.type is ChatEventType.DELTA)
    reply = stored(world, chat)[-1]
    assert reply.id == events[-1].message_id and reply.content == text


@then(parsers.parse('the agent called the tool "{tool}"'))
def called_tool(world: World, chat: Chat, tool: str) -> None:
    turn = chat.turn
    assert turn is not None and [c["name"] for c in turn.tool_calls] == [tool]
    assert stored(world, chat)[-1].tool_calls[0]["name"] == tool


@then(parsers.parse('the turn fails with "{code}", marked retryable'))
def turn_fails(chat: Chat, code: str) -> None:
    error = chat.error
    assert error is not None and error.code == code and error.retryable


@then("her message is kept, marked failed")
def kept_failed(world: World, chat: Chat) -> None:
    messages = stored(world, chat)
    assert [(m.role.value, m.status) for m in messages] == [("user", MessageStatus.FAILED)]
