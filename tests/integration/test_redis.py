"""`RedisClient` and `RedisWindowStore` against real Redis, including outages.

The shared server (`MAI_TEST_REDIS_URL`, default DB 15) serves the feature tests; every
key they write is under a per-test random part, so nothing else in DB 15 is touched.
The outage tests start their own `redis-server` on a free port and kill it.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from redis.asyncio.connection import AbstractConnection

from adapters.redis.client import RedisClient, RedisHealth, RedisOptions
from adapters.redis.keys import KeyKind
from adapters.redis.window_store import RedisWindowStore
from domain.conversations.models import Message, Role
from domain.memory.errors import CacheUnavailable
from domain.memory.window import CachedWindow
from entrypoints.rest.errors import http_status
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.integration

# Outage tests: fail fast. 300 ms socket timeouts, 2 retries with 20/40 ms backoff, and
# at most 1 s for a whole call.
FAST = RedisOptions(
    socket_timeout=0.3,
    socket_connect_timeout=0.3,
    retries=2,
    backoff_base=0.01,
    backoff_cap=0.1,
    operation_timeout=1.0,
)


@pytest.fixture
async def client() -> AsyncIterator[RedisClient]:
    async with RedisClient.from_url(REDIS_URL) as redis_client:
        yield redis_client


@pytest.fixture
def ns() -> str:
    """A random key part: this test's keys cannot collide with anyone else's."""
    return f"test-{uuid4().hex[:12]}"


def message(n: int) -> Message:
    return Message(
        conversation_id=uuid4(),
        role=Role.USER,
        content=f"m{n}",
        created_at=datetime(2025, 3, 1, tzinfo=UTC),
    )


# --- RedisClient -----------------------------------------------------------------------


async def test_keys_are_namespaced_by_kind(client: RedisClient, ns: str) -> None:
    assert client.key(KeyKind.CACHE, ns, 1) == f"MAI:cache:{ns}:1"
    assert client.key("session", ns) == f"MAI:session:{ns}"
    assert client.key(KeyKind.RATELIMIT, ns, "u1") == f"MAI:ratelimit:{ns}:u1"
    with pytest.raises(ValueError, match="unknown key kind"):
        client.key("cahce", ns)
    with pytest.raises(ValueError):
        client.key(KeyKind.CACHE)
    with pytest.raises(ValueError):
        client.key(KeyKind.CACHE, ns, "")

    await client.set(client.key(KeyKind.CACHE, ns), "v")
    assert [k async for k in client.redis.scan_iter(match=f"MAI:cache:{ns}*")] == [
        f"MAI:cache:{ns}".encode()
    ]
    await client.delete(client.key(KeyKind.CACHE, ns))


async def test_strings_with_ttl(client: RedisClient, ns: str) -> None:
    key, other = client.key(KeyKind.CACHE, ns, "a"), client.key(KeyKind.CACHE, ns, "b")

    assert await client.get(key) is None
    assert await client.set(key, "héllo", ttl=60)
    assert await client.get(key) == "héllo"
    ttl = await client.ttl(key)
    assert ttl is not None and 59 < ttl <= 60
    assert not await client.set(key, "other", only_if_absent=True)
    assert await client.set(other, 42)
    assert await client.ttl(other) is None  # no expiry
    assert await client.exists(key, other, client.key(KeyKind.CACHE, ns, "none")) == 2
    assert await client.expire(other, 0.2)
    await asyncio.sleep(0.3)
    assert await client.get(other) is None
    assert await client.delete(key, other) == 1
    assert await client.exists(key) == 0
    with pytest.raises(ValueError):
        await client.set(key, "x", ttl=0)


async def test_counters_have_a_fixed_window(client: RedisClient, ns: str) -> None:
    key = client.key(KeyKind.RATELIMIT, ns, "user")

    assert await client.incr(key, ttl=10) == 1
    await client.expire(key, 5)  # as if time passed
    assert await client.incr(key, 4, ttl=10) == 5  # the window is not extended
    ttl = await client.ttl(key)
    assert ttl is not None and ttl <= 5
    assert await client.decr(key) == 4
    assert await client.decr(key, 4) == 0
    assert await client.incr(client.key(KeyKind.RATELIMIT, ns, "no-ttl")) == 1
    await client.delete(key, client.key(KeyKind.RATELIMIT, ns, "no-ttl"))


async def test_hashes(client: RedisClient, ns: str) -> None:
    key = client.key(KeyKind.SESSION, ns)

    assert await client.hset(key, {"a": "1", "b": 2, "c": "ü"}, ttl=60) == 3
    assert await client.hset(key, {"a": "one"}) == 0  # updated, not added
    assert await client.hget(key, "a") == "one"
    assert await client.hget(key, "zzz") is None
    assert await client.hgetall(key) == {"a": "one", "b": "2", "c": "ü"}
    assert await client.hdel(key, "a", "zzz") == 1
    assert await client.hgetall(key) == {"b": "2", "c": "ü"}
    assert await client.ttl(key) is not None
    assert await client.hset(key, {}) == 0
    await client.delete(key)
    assert await client.hgetall(key) == {}


async def test_lists(client: RedisClient, ns: str) -> None:
    key = client.key(KeyKind.CACHE, ns, "list")

    assert await client.rpush(key, "b", "c", ttl=60) == 2
    assert await client.lpush(key, "a") == 3
    assert await client.lrange(key) == ["a", "b", "c"]
    assert await client.lrange(key, -2, -1) == ["b", "c"]
    await client.ltrim(key, 1, -1)
    assert await client.llen(key) == 2
    assert await client.lrange(key) == ["b", "c"]
    assert await client.rpush(key) == 2  # nothing to push
    await client.delete(key)
    assert await client.llen(key) == 0


async def test_json(client: RedisClient, ns: str) -> None:
    key = client.key(KeyKind.CACHE, ns, "json")
    value = {"name": "Zoë", "n": [1, 2.5, None], "ok": True, "nested": {"x": "天"}}

    assert await client.get_json(key) is None
    assert await client.set_json(key, value, ttl=60)
    assert await client.get_json(key) == value
    await client.delete(key)


async def test_ping_health_and_close(ns: str) -> None:
    async with RedisClient.from_url(REDIS_URL) as client:
        assert await client.ping()
        health = await client.health_check()
        assert health.ok and health.backend == "redis" and health.latency_ms is not None
        assert (await RedisHealth(client).check()).ok  # RedisHealth takes either client
        conn_id = await client.redis.client_id()

    async with RedisClient.from_url(REDIS_URL) as observer:
        listed = await observer.redis.client_list(client_id=[conn_id])
    assert not listed  # leaving `async with` closed the connection


# --- RedisWindowStore ------------------------------------------------------------------


async def test_window_lives_at_its_key_with_a_ttl(client: RedisClient) -> None:
    store = RedisWindowStore(client)
    cid = uuid4()

    await store.save(cid, CachedWindow([message(1)], "s", 3), ttl_seconds=30)

    key = f"MAI:session:window:{cid}"
    assert store.key(cid) == key
    assert await client.llen(key) == 2  # header + 1 message
    ttl = await client.ttl(key)
    assert ttl is not None and 29 < ttl <= 30
    await store.invalidate(cid)


async def test_an_unreadable_window_is_a_miss(client: RedisClient) -> None:
    store = RedisWindowStore(client)
    cid = uuid4()
    await client.rpush(store.key(cid), '{"v": 999}', "{}", ttl=30)

    assert await store.load(cid) is None
    await client.rpush(store.key(cid), "not json")
    assert await store.load(cid) is None
    await store.invalidate(cid)


async def test_one_round_trip_per_load_and_per_append(
    client: RedisClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RedisWindowStore(client)
    cid = uuid4()
    await store.save(cid, CachedWindow([message(i) for i in range(100)]), ttl_seconds=30)
    await store.append(cid, [message(100)], max_messages=100, ttl_seconds=30)  # loads the script
    sent: list[Any] = []
    original = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)

    window = await store.load(cid)
    assert window is not None and len(window.messages) == 100
    assert len(sent) == 1
    await store.append(cid, [message(101), message(102)], max_messages=100, ttl_seconds=30)
    assert len(sent) == 2
    await store.save(cid, CachedWindow([message(1)]), ttl_seconds=30)
    assert len(sent) == 3  # MULTI … EXEC goes out in one write
    await store.invalidate(cid)


# --- outages ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway redis-server: no persistence, killed at the end of the test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (scripts/setup_services.sh installs it)"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


async def timed(coro: Any) -> tuple[BaseException, float]:
    started = time.perf_counter()
    with pytest.raises(CacheUnavailable) as caught:
        await coro
    return caught.value, time.perf_counter() - started


async def test_nothing_listening_is_cache_unavailable_promptly() -> None:
    async with RedisClient.from_url(f"redis://127.0.0.1:{free_port()}/0", FAST) as client:
        store = RedisWindowStore(client)

        error, elapsed = await timed(store.load(uuid4()))

        assert isinstance(error, CacheUnavailable)
        assert (error.code, http_status(error), error.retryable) == ("CACHE_UNAVAILABLE", 503, True)
        assert error.details == {"operation": "window.load", "reason": "ConnectionError"}
        assert elapsed < 1.0  # refused at once: the retries, not the deadline, ended it
        await timed(store.append(uuid4(), [message(1)], max_messages=5, ttl_seconds=5))
        await timed(client.get(client.key(KeyKind.CACHE, "x")))
        assert await client.ping() is False
        assert not (await client.health_check()).ok


async def test_a_server_that_never_answers_times_out() -> None:
    """Accepts connections, reads, never replies. redis-py retries the command and, inside
    each attempt, the connection handshake: 9 × 0.3 s here. The operation deadline cuts
    that to 1 s."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with RedisClient.from_url(f"redis://127.0.0.1:{port}/0", FAST) as client:
            error, elapsed = await timed(RedisWindowStore(client).load(uuid4()))
            assert 0.9 <= elapsed < 1.5
            assert isinstance(error, CacheUnavailable)
            started = time.perf_counter()
            assert await client.ping() is False
            assert not (await client.health_check()).ok
            assert time.perf_counter() - started < 3.0
    finally:
        server.close()
        await server.wait_closed()


async def test_outage_then_recovery(redis_server: RedisServer) -> None:
    async with RedisClient.from_url(redis_server.url, FAST) as client:
        store = RedisWindowStore(client)
        cid = uuid4()
        await store.save(cid, CachedWindow([message(1)]), ttl_seconds=60)
        assert await store.load(cid) is not None

        redis_server.stop()
        for operation in (
            store.load(cid),
            store.append(cid, [message(2)], max_messages=5, ttl_seconds=60),
            store.save(cid, CachedWindow([]), ttl_seconds=60),
            store.invalidate(cid),
        ):
            _, elapsed = await timed(operation)
            assert elapsed < 1.5  # within the 1 s deadline (+ scheduling slack)
        assert not (await client.health_check()).ok

        redis_server.start()  # same port, empty (no persistence)
        assert await store.load(cid) is None  # a miss: the caller rebuilds
        assert not await store.append(cid, [message(2)], max_messages=5, ttl_seconds=60)
        fresh = CachedWindow([message(3)])
        await store.save(cid, fresh, ttl_seconds=60)
        assert await store.load(cid) == fresh
        assert await client.ping()
