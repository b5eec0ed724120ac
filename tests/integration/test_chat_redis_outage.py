"""Killing the real Redis mid-conversation loses no message and the next turn succeeds;
when Redis comes back, the window is rebuilt from the database (the truth)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dependency_injector import providers
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.models import StaticModelSource
from adapters.sql.migrate import upgrade
from runtime import AppRuntime
from tests.conftest import PG_URL, make_container, make_settings
from tests.fakes import user_texts
from tests.integration.test_redis import RedisServer, free_port

pytestmark = [pytest.mark.integration]


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


async def test_redis_killed_mid_conversation(redis: RedisServer) -> None:
    seen: list[list[str]] = []

    def model_fn(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        seen.append(user_texts(messages))
        return ModelResponse(parts=[TextPart(f"reply {len(seen)}")])

    await upgrade(PG_URL)
    container = make_container(make_settings(database={"url": PG_URL}, redis={"url": redis.url}))
    container.model_source.override(providers.Object(StaticModelSource(FunctionModel(model_fn))))
    async with AppRuntime(container):
        suffix = free_port()
        user = await container.register_user().execute(
            f"outage{suffix}", f"o{suffix}@example.com", "password123"
        )
        send = container.send_message()
        first = await send.execute(user.id, "assistant", "one")
        await send.execute(user.id, "assistant", "two", first.conversation_id)

        redis.stop()  # the cache dies mid-conversation
        third = await send.execute(user.id, "assistant", "three", first.conversation_id)
        assert third.output == "reply 3"
        assert seen[-1] == ["one", "two", "three"]  # context rebuilt from the database
        ready = await container.check_readiness().execute()
        assert ready.ready and ready.degraded

        redis.start()  # back, empty: the next turn rebuilds the window and carries on
        await send.execute(user.id, "assistant", "four", first.conversation_id)
        assert seen[-1] == ["one", "two", "three", "four"]
        page = await container.list_messages().execute(user.id, first.conversation_id, limit=100)
        assert [m.content for m in page.items] == [
            "one",
            "reply 1",
            "two",
            "reply 2",
            "three",
            "reply 3",
            "four",
            "reply 4",
        ]
