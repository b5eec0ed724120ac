"""Issue #10, proven: a real API under live traffic while Redis, the LLM server, the vector
index or PostgreSQL goes away and comes back.

For each fault: (a) nothing acknowledged is lost: every 2xx (user registered, memory
stored, chat turn completed) is in the database afterwards; (b) failures during the fault
follow the contract: 503 with `retryable: true` and the one error shape, never a 500, never
a hang past the client timeout; (c) the service recovers by itself: once the dependency is
back, `/ready` answers 200 and every request succeeds again within a bounded time, with the
same API process.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.faults.conftest import FakeService, MakeApi, PrivatePostgres
from tests.faults.traffic import Traffic
from tests.integration.test_redis import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECOVERY_SECONDS = 30.0  # the service must be whole again within this, after the fault ends
OUTAGE_SECONDS = 4.0  # how long a dependency stays down, at least
ReadyCheck = Callable[[dict[str, Any]], bool]


async def ready(server: Server) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        response = await http.get("/ready")
        return response.status_code, response.json()


def adapter_ok(name: str) -> ReadyCheck:
    return lambda body: bool(body["adapters"][name]["ok"])


async def outage(traffic: Traffic, since: float, *, ops: tuple[str, ...] | None = None) -> None:
    """Keep the dependency down for OUTAGE_SECONDS and until traffic has met it."""
    await traffic.wait_for(since, 2, ops=ops)
    await asyncio.sleep(max(0.0, since + OUTAGE_SECONDS - time.monotonic()))


async def recover(server: Server, traffic: Traffic, check: ReadyCheck) -> float:
    """Poll until `/ready` is 200 and `check` holds; then every request started after that
    must succeed (each op a few times). Returns when the service was whole again."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status, body = await ready(server)
        if status == 200 and check(body):
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError(f"/ready did not recover within {RECOVERY_SECONDS:g}s: {body}")
    back = time.monotonic()
    await traffic.wait_for_successes(back, 3, within=RECOVERY_SECONDS)
    # Allow requests that were already retrying inside the API when /ready turned green a
    # moment to settle; everything after must succeed.
    settled = back + 2.0
    await traffic.wait_for(settled, 2)
    failed = traffic.failures_between(settled)
    assert not failed, f"requests still failing after recovery: {failed[:5]}"
    return back


def assert_nothing_lost(pg: PrivatePostgres, server: Server, traffic: Traffic) -> None:
    """(a): every acknowledged write is in the database (the truth)."""
    db = server.env["MAI_FAULTS_DATABASE"]
    users = pg.column(db, "SELECT username FROM users")
    missing_users = traffic.acked("register") - users
    assert not missing_users, f"acknowledged registrations lost: {sorted(missing_users)[:5]}"
    memories = pg.column(db, "SELECT id FROM memories WHERE deleted_at IS NULL")
    missing_memories = traffic.acked("memory") - memories
    assert not missing_memories, f"acknowledged memories lost: {sorted(missing_memories)[:5]}"
    replies = pg.column(db, "SELECT id FROM messages WHERE role = 'assistant'")
    acked_turns = traffic.acked("chat_run") | traffic.acked("chat_stream")
    missing_turns = acked_turns - replies
    assert not missing_turns, f"completed chat turns lost: {sorted(missing_turns)[:5]}"
    # A failed turn leaves no half-written reply: every assistant message has content.
    empty = pg.psql(db, "SELECT count(*) FROM messages WHERE role = 'assistant' AND content = ''")
    assert empty == [["0"]]


def assert_contract(traffic: Traffic, server: Server) -> None:
    """(b) over the whole run, and the API never restarted."""
    problems = traffic.problems()
    assert not problems, "contract violations:\n" + "\n".join(problems[:10])
    assert server.process.poll() is None, "the API process died"
    assert "unhandled_error" not in server.log(), server.log()[-3000:]


async def test_redis_killed_and_restarted_under_traffic(
    make_api: MakeApi, redis_server: RedisServer, pg: PrivatePostgres
) -> None:
    server = make_api()
    async with Traffic(server.base_url) as traffic:
        await traffic.wait_for_successes(0.0, 2)

        down = time.monotonic()
        await asyncio.to_thread(redis_server.stop)  # SIGKILL: pooled connections die with it
        await outage(traffic, down)
        status, body = await ready(server)
        assert status == 200, body  # Redis is a cache: degraded, still ready
        assert body["adapters"]["cache"]["ok"] is False
        await asyncio.to_thread(redis_server.start)  # the same port, empty
        up = time.monotonic()

        during = traffic.failures_between(down, up)
        back = await recover(server, traffic, adapter_ok("cache"))
    # Redis holds nothing that cannot be rebuilt: nothing failed, even while it was down.
    assert not during, f"requests failed while only Redis was down: {during[:5]}"
    assert_contract(traffic, server)
    assert_nothing_lost(pg, server, traffic)
    print("redis:", traffic.summary(down, up), f"recovered in {back - up:.1f}s")


async def test_llm_server_killed_and_restarted_under_traffic(
    make_api: MakeApi, fake_llm: FakeService, pg: PrivatePostgres
) -> None:
    server = make_api()
    ops = ("chat_stream", "register", "chat_run", "memory", "chat_run", "search")
    async with Traffic(server.base_url, ops, workers=4) as traffic:
        await traffic.wait_for_successes(0.0, 2)

        down = time.monotonic()
        await asyncio.to_thread(fake_llm.kill)  # mid-traffic: some turns are in flight
        await outage(traffic, down, ops=("chat_run", "chat_stream"))
        status, body = await ready(server)
        assert status == 200, body  # without the LLM the rest of the API still serves
        assert body["adapters"]["llm"]["ok"] is False
        await asyncio.to_thread(fake_llm.start)
        up = time.monotonic()

        failed = traffic.failures_between(down, up)
        back = await recover(server, traffic, adapter_ok("llm"))
    assert_contract(traffic, server)
    assert_nothing_lost(pg, server, traffic)
    # Chat failed as the contract says; nothing else failed.
    assert failed, "the outage never reached a chat turn"
    assert {o.op for o in failed} <= {"chat_run", "chat_stream"}, failed[:5]
    assert {(o.error or {}).get("code") for o in failed} == {"MODEL_UNAVAILABLE"}, failed[:5]
    # Every failed turn kept the user's message, marked failed (the failure is visible).
    db = server.env["MAI_FAULTS_DATABASE"]
    marked = pg.psql(db, "SELECT count(*) FROM messages WHERE role = 'user' AND status = 'failed'")
    assert int(marked[0][0]) >= len(failed)
    print("llm:", traffic.summary(down, up), f"recovered in {back - up:.1f}s")


async def test_vector_index_down_then_back_under_traffic(
    make_api: MakeApi, fake_qdrant: FakeService, pg: PrivatePostgres
) -> None:
    await asyncio.to_thread(fake_qdrant.kill)  # nothing listens at QDRANT__URL yet
    server = make_api(
        MEMORY__VECTOR_BACKEND="qdrant",
        QDRANT__URL=f"http://127.0.0.1:{fake_qdrant.port}",
        QDRANT__COLLECTION="faults",
    )
    db = server.env["MAI_FAULTS_DATABASE"]
    ops = ("memory", "search", "register", "memory", "chat_run", "memory", "chat_stream")
    async with Traffic(server.base_url, ops) as traffic:
        # 1. The API started without its index: it serves, degraded; memories wait.
        await traffic.wait_for_successes(0.0, 2)
        status, body = await ready(server)
        assert status == 200, body  # the index can be rebuilt: degraded, still ready
        assert body["adapters"]["vector_index"]["ok"] is False
        await asyncio.to_thread(fake_qdrant.start)
        first = time.monotonic()
        await recover(server, traffic, adapter_ok("vector_index"))

        # 2. Killed mid-traffic, then back (same port, same storage).
        down = time.monotonic()
        await asyncio.to_thread(fake_qdrant.kill)
        await outage(traffic, down, ops=("memory", "search"))
        status, body = await ready(server)
        assert status == 200, body
        assert body["adapters"]["vector_index"]["ok"] is False
        pending = await asyncio.to_thread(
            pg.column, db, "SELECT id FROM memories WHERE index_state = 'pending'"
        )
        assert pending, "memories written during the outage should wait in the outbox"
        await asyncio.to_thread(fake_qdrant.start)
        up = time.monotonic()

        back = await recover(server, traffic, adapter_ok("vector_index"))

        # 3. Back empty (its storage lost): the API creates the collection again by itself.
        await asyncio.to_thread(fake_qdrant.kill)
        shutil.rmtree(fake_qdrant.args[0])
        await asyncio.to_thread(fake_qdrant.start)
        await recover(server, traffic, adapter_ok("vector_index"))
    # Writes go to the database first; search falls back to lexical: nothing ever failed.
    failed = traffic.failures_between(0.0)
    assert not failed, f"requests failed while only the index was down: {failed[:5]}"
    assert_contract(traffic, server)
    assert_nothing_lost(pg, server, traffic)
    # The reconciler drains the outbox by itself: every memory ends up in the index.
    deadline = time.monotonic() + RECOVERY_SECONDS
    while pg.column(db, "SELECT id FROM memories WHERE index_state <> 'indexed'"):
        assert time.monotonic() < deadline, "the outbox was not drained"
        await asyncio.sleep(0.5)
    # What the lost storage held comes back with the documented command.
    await asyncio.to_thread(server.mai, "memory", "reindex")
    stored = pg.column(db, "SELECT count(*) FROM memories")
    async with httpx.AsyncClient(timeout=10) as http:
        counted = await http.post(
            f"http://127.0.0.1:{fake_qdrant.port}/collections/faults/points/count",
            json={"exact": True},
        )
    assert {str(counted.json()["result"]["count"])} == stored
    print(
        "qdrant: absent at start",
        traffic.summary(0.0, first),
        "killed:",
        traffic.summary(down, up),
        f"recovered in {back - up:.1f}s",
    )


async def test_postgres_restarted_under_traffic(make_api: MakeApi, pg: PrivatePostgres) -> None:
    server = make_api()
    async with Traffic(server.base_url) as traffic:
        await traffic.wait_for_successes(0.0, 2)

        # 1. A fast restart: every pooled connection is cut at once.
        bounced = time.monotonic()
        await asyncio.to_thread(pg.restart)
        await recover(server, traffic, adapter_ok("database"))

        # 2. Down for a while: requests meet a refused connection.
        down = time.monotonic()
        await asyncio.to_thread(pg.stop, "fast")
        await outage(traffic, down)
        status, body = await ready(server)
        assert status == 503, body  # the database is the truth: not ready without it
        assert body["adapters"]["database"]["ok"] is False
        await asyncio.to_thread(pg.start)
        up = time.monotonic()

        failed = traffic.failures_between(down, up)
        back = await recover(server, traffic, adapter_ok("database"))
    assert_contract(traffic, server)
    assert_nothing_lost(pg, server, traffic)
    assert failed, "the outage never reached a request"
    print(
        "postgres restart:",
        traffic.summary(bounced, down),
        "stop/start:",
        traffic.summary(down, up),
        f"recovered in {back - up:.1f}s",
    )
