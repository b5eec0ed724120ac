"""Contract of `ConversationWindowStore`, on the in-process store and on real Redis.

Time: the in-process store runs on a fake clock (`wait` moves it), Redis on the real one
(`wait` sleeps), so TTL tests are instant in process and honest on Redis. The Redis case
is marked `integration` (`MAI_TEST_REDIS_URL`, default DB 15) and deletes only the
`MAI:session:window:*` keys before each test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4, uuid5

import pytest

from adapters.inprocess.window import InProcessWindowStore
from adapters.redis.client import RedisClient
from adapters.redis.window_store import RedisWindowStore
from domain.conversations.models import Message, MessageStatus, Role
from domain.memory.short_term_ports import CachedWindow, ConversationWindowStore
from tests.fakes.clock import FakeClock

WINDOW_KEYS = "MAI:session:window:*"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Harness:
    store: InProcessWindowStore | RedisWindowStore
    wait: Callable[[float], Awaitable[None]]

    @property
    def port(self) -> ConversationWindowStore:
        return self.store


@pytest.fixture
async def redis_harness(redis_client: RedisClient) -> Harness:
    stale = [key async for key in redis_client.redis.scan_iter(match=WINDOW_KEYS, count=1000)]
    if stale:
        await redis_client.redis.delete(*stale)
    return Harness(RedisWindowStore(redis_client), asyncio.sleep)


@pytest.fixture(params=["in-process", pytest.param("redis", marks=pytest.mark.integration)])
def harness(request: pytest.FixtureRequest) -> Harness:
    """Only the backend under test is set up (no Redis needed for the in-process run)."""
    if request.param == "redis":
        redis: Harness = request.getfixturevalue("redis_harness")
        return redis
    clock = FakeClock()

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return Harness(InProcessWindowStore(clock=clock), advance)


def message(
    conversation_id: UUID, n: int, role: Role = Role.USER, content: str | None = None
) -> Message:
    """The n-th message of a conversation; the same n gives an equal message (same id)."""
    return Message(
        conversation_id=conversation_id,
        role=role,
        content=content if content is not None else f"message {n}",
        id=uuid5(conversation_id, str(n)),
        created_at=T0 + timedelta(seconds=n),
    )


def rich_messages(cid: UUID) -> list[Message]:
    """Every field away from its default, nested JSON, a non-UTC offset, microseconds."""
    minus_five = timezone(timedelta(hours=-5))
    return [
        Message(
            conversation_id=cid,
            role=Role.USER,
            content='Wie wird das Wetter? 天気 🎉 <b>&amp;</b> "quoted"\nsecond line',
            status=MessageStatus.FAILED,
            error={"code": "MODEL_UNAVAILABLE", "details": {"retry_after": 1.5}},
            metadata={"client": "cli", "tags": ["a", "b"], "nested": {"n": None}},
            created_at=datetime(2025, 3, 1, 7, 0, 0, 123456, tzinfo=minus_five),
        ),
        Message(
            conversation_id=cid,
            role=Role.ASSISTANT,
            content="",
            tool_calls=[
                {"id": "call_1", "name": "weather", "args": {"city": "Lisbon", "days": 3}},
                {"id": "call_2", "name": "time", "args": {}, "result": {"now": "12:00"}},
            ],
            token_count=57,
            usage={"input_tokens": 120, "output_tokens": 57, "requests": 2},
            created_at=T0 + timedelta(seconds=1),
        ),
        Message(
            conversation_id=cid,
            role=Role.TOOL,
            content='{"forecast": [20, 21, 19]}',
            tool_call_id="call_1",
            created_at=T0 + timedelta(seconds=2),
        ),
        Message(conversation_id=cid, role=Role.SYSTEM, content="Be brief.", created_at=T0),
    ]


async def test_load_miss_is_none(harness: Harness) -> None:
    assert await harness.port.load(uuid4()) is None


async def test_save_load_round_trip_preserves_every_field(harness: Harness) -> None:
    cid = uuid4()
    window = CachedWindow(
        rich_messages(cid), summary="They talk about Lisbon.", summarized_count=12
    )

    await harness.port.save(cid, window, ttl_seconds=60)
    loaded = await harness.port.load(cid)

    assert loaded == window
    assert loaded is not None
    for got, sent in zip(loaded.messages, window.messages, strict=True):
        assert got.created_at.utcoffset() == sent.created_at.utcoffset()
        assert type(got.role) is Role and type(got.status) is MessageStatus
        assert isinstance(got.id, UUID) and isinstance(got.conversation_id, UUID)


async def test_an_empty_window_is_a_hit_not_a_miss(harness: Harness) -> None:
    cid = uuid4()

    await harness.port.save(cid, CachedWindow([], summary=None), ttl_seconds=60)

    assert await harness.port.load(cid) == CachedWindow([])
    assert await harness.port.append(cid, [message(cid, 1)], max_messages=5, ttl_seconds=60)
    assert await harness.port.load(cid) == CachedWindow([message(cid, 1)])


async def test_save_replaces_the_window(harness: Harness) -> None:
    cid = uuid4()
    await harness.port.save(cid, CachedWindow([message(cid, i) for i in range(5)], "a", 1), 60)

    await harness.port.save(cid, CachedWindow([message(cid, 9)], "b", 6), 60)

    assert await harness.port.load(cid) == CachedWindow([message(cid, 9)], "b", 6)


async def test_append_on_a_miss_creates_nothing(harness: Harness) -> None:
    cid = uuid4()

    applied = await harness.port.append(cid, [message(cid, 1)], max_messages=10, ttl_seconds=60)

    assert applied is False
    assert await harness.port.load(cid) is None


async def test_append_adds_at_the_end_and_keeps_the_summary(harness: Harness) -> None:
    cid = uuid4()
    first = [message(cid, 0), message(cid, 1, Role.ASSISTANT)]
    await harness.port.save(cid, CachedWindow(first, "so far", 4), ttl_seconds=60)
    more = [message(cid, 2), message(cid, 3, Role.ASSISTANT)]

    assert await harness.port.append(cid, more, max_messages=10, ttl_seconds=60) is True

    assert await harness.port.load(cid) == CachedWindow(first + more, "so far", 4)


async def test_append_trims_to_the_newest_max_messages(harness: Harness) -> None:
    cid = uuid4()
    history = [message(cid, i) for i in range(6)]
    await harness.port.save(cid, CachedWindow(history[:4], "s", 2), ttl_seconds=60)

    assert await harness.port.append(cid, history[4:], max_messages=3, ttl_seconds=60)

    assert await harness.port.load(cid) == CachedWindow(history[3:], "s", 2)
    assert await harness.port.append(cid, [], max_messages=1, ttl_seconds=60)
    assert await harness.port.load(cid) == CachedWindow(history[5:], "s", 2)


async def test_a_message_appended_twice_loads_once(harness: Harness) -> None:
    """An append retried after a lost reply must not duplicate history."""
    cid = uuid4()
    m = message(cid, 1)
    await harness.port.save(cid, CachedWindow([m]), ttl_seconds=60)

    await harness.port.append(cid, [m, message(cid, 2)], max_messages=10, ttl_seconds=60)

    loaded = await harness.port.load(cid)
    assert loaded is not None and loaded.messages == [m, message(cid, 2)]


async def test_ttl_is_set_and_refreshed_by_append(harness: Harness) -> None:
    cid = uuid4()
    await harness.port.save(cid, CachedWindow([message(cid, 0)]), ttl_seconds=100)
    left = await harness.store.ttl_remaining(cid)
    assert left is not None and 98 < left <= 100

    await harness.port.append(cid, [message(cid, 1)], max_messages=10, ttl_seconds=1000)

    left = await harness.store.ttl_remaining(cid)
    assert left is not None and 998 < left <= 1000
    assert await harness.store.ttl_remaining(uuid4()) is None


async def test_a_window_expires_after_its_ttl(harness: Harness) -> None:
    cid = uuid4()
    await harness.port.save(cid, CachedWindow([message(cid, 0)]), ttl_seconds=1)

    await harness.wait(1.2)

    assert await harness.port.load(cid) is None
    assert not await harness.port.append(cid, [message(cid, 1)], max_messages=5, ttl_seconds=1)
    assert await harness.port.load(cid) is None


async def test_append_keeps_a_window_alive(harness: Harness) -> None:
    cid = uuid4()
    await harness.port.save(cid, CachedWindow([message(cid, 0)]), ttl_seconds=1)
    await harness.wait(0.6)

    assert await harness.port.append(cid, [message(cid, 1)], max_messages=5, ttl_seconds=1)
    await harness.wait(0.6)  # 1.2 s after the save, 0.6 s after the append

    assert await harness.port.load(cid) == CachedWindow([message(cid, 0), message(cid, 1)])


@pytest.mark.parametrize("max_messages", [1000, 10])
async def test_concurrent_appends_lose_nothing(harness: Harness, max_messages: int) -> None:
    cid = uuid4()
    await harness.port.save(cid, CachedWindow([], "s", 0), ttl_seconds=60)
    batches = [
        [message(cid, 2 * b, content=f"b{b}-q"), message(cid, 2 * b + 1, content=f"b{b}-a")]
        for b in range(50)
    ]

    applied = await asyncio.gather(
        *(harness.port.append(cid, batch, max_messages, ttl_seconds=60) for batch in batches)
    )

    assert all(applied)
    loaded = await harness.port.load(cid)
    assert loaded is not None and loaded.summary == "s"
    contents = [m.content for m in loaded.messages]
    assert len(contents) == min(100, max_messages)
    assert len(set(contents)) == len(contents)
    # one serial order of whole batches: each question directly followed by its answer
    for question, answer in zip(contents[::2], contents[1::2], strict=True):
        assert question.endswith("-q") and answer == question[:-2] + "-a"


async def test_invalidate(harness: Harness) -> None:
    cid = uuid4()
    await harness.port.save(cid, CachedWindow([message(cid, 0)]), ttl_seconds=60)

    await harness.port.invalidate(cid)
    await harness.port.invalidate(uuid4())  # a miss is fine

    assert await harness.port.load(cid) is None
    assert not await harness.port.append(cid, [message(cid, 1)], max_messages=5, ttl_seconds=60)


async def test_conversations_are_isolated(harness: Harness) -> None:
    a, b = uuid4(), uuid4()
    await harness.port.save(a, CachedWindow([message(a, 0)], "A", 1), ttl_seconds=60)
    await harness.port.save(b, CachedWindow([message(b, 0)], "B", 2), ttl_seconds=60)

    await harness.port.append(a, [message(a, 1)], max_messages=1, ttl_seconds=60)
    await harness.port.invalidate(b)

    assert await harness.port.load(a) == CachedWindow([message(a, 1)], "A", 1)
    assert await harness.port.load(b) is None


async def test_stored_windows_share_no_state_with_the_caller(harness: Harness) -> None:
    cid = uuid4()
    original = rich_messages(cid)
    window = CachedWindow(original)
    await harness.port.save(cid, window, ttl_seconds=60)

    original[1].tool_calls[0]["args"]["city"] = "Porto"
    loaded = await harness.port.load(cid)
    assert loaded is not None
    loaded.messages[1].metadata["changed"] = True

    again = await harness.port.load(cid)
    assert again is not None
    assert again.messages[1].tool_calls[0]["args"]["city"] == "Lisbon"
    assert "changed" not in again.messages[1].metadata


async def test_invalid_arguments(harness: Harness) -> None:
    cid = uuid4()
    with pytest.raises(ValueError):
        await harness.port.save(cid, CachedWindow([]), ttl_seconds=0)
    with pytest.raises(ValueError):
        await harness.port.append(cid, [], max_messages=0, ttl_seconds=60)
    with pytest.raises(ValueError):
        await harness.port.append(cid, [], max_messages=5, ttl_seconds=-1)


# --- in-process only: bounded size -----------------------------------------------------


async def test_in_process_store_evicts_the_least_recently_used() -> None:
    store = InProcessWindowStore(max_conversations=3, clock=FakeClock())
    ids = [uuid4() for _ in range(4)]
    for cid in ids[:3]:
        await store.save(cid, CachedWindow([message(cid, 0)]), ttl_seconds=60)
    await store.load(ids[0])  # now the most recently used

    await store.save(ids[3], CachedWindow([message(ids[3], 0)]), ttl_seconds=60)

    assert len(store.entries) == 3
    assert await store.load(ids[1]) is None
    assert all([await store.load(cid) is not None for cid in (ids[0], ids[2], ids[3])])


async def test_in_process_store_drops_expired_windows_when_saving() -> None:
    clock = FakeClock()
    store = InProcessWindowStore(clock=clock)
    old = uuid4()
    await store.save(old, CachedWindow([message(old, 0)]), ttl_seconds=1)
    clock.advance(5)

    await store.save(uuid4(), CachedWindow([]), ttl_seconds=60)

    assert old not in store.entries
