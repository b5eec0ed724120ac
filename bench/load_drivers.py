"""The load drivers (`bench/load.py`): chat turns or health checks at a fixed concurrency over
one keep-alive connection per worker, and GraphQL `chat` subscriptions all started at once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from bench.load_server import AGENT, REPLY_CHUNKS
from bench.load_stats import Errors, RequestResult, Stats, SubscriptionResult

CHAT = """subscription($agent: String!, $message: String!) {
  chat(agent: $agent, message: $message) { type text conversationId messageId }
}"""


def client(base_url: str) -> httpx.AsyncClient:
    """One keep-alive connection: what one user's client holds. (A shared httpx pool of
    C connections costs O(C) per request in httpcore's pool bookkeeping — at C = 50 the
    driver, not the server, was the bottleneck: `GET /health` fell from ~675/s to ~180/s.)
    Plain HTTP on loopback: `verify=False` spares each client the ~60 ms of loading the CA
    bundle into an SSL context it would never use."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=httpx.Timeout(120.0), verify=False
    )


async def drive_requests(
    base_url: str,
    name: str,
    *,
    requests: int,
    concurrency: int,
    tokens: Sequence[str],
    path: str,
    chat: bool,
) -> RequestResult:
    """`requests` requests by `concurrency` workers, each with its own connection. Worker
    w speaks for user w mod N; for chat, it keeps one conversation going (created by its
    first turn)."""
    latencies: list[float] = []
    errors = Errors()
    issued = 0

    async def worker(w: int, http: httpx.AsyncClient) -> None:
        nonlocal issued
        headers = {"Authorization": f"Bearer {tokens[w % len(tokens)]}"} if tokens else {}
        conversation: str | None = None
        while issued < requests:
            issued += 1
            started = time.perf_counter()
            try:
                if chat:
                    body: dict[str, Any] = {"message": f"turn {issued} from worker {w}"}
                    if conversation is not None:
                        body["conversation_id"] = conversation
                    r = await http.post(path, json=body, headers=headers)
                else:
                    r = await http.get(path, headers=headers)
            except Exception as exc:  # counted, never fatal: the run goes on
                errors.add(type(exc).__name__, repr(exc))
                continue
            elapsed = time.perf_counter() - started
            latencies.append(elapsed)
            if not r.is_success:
                errors.add(f"HTTP {r.status_code}", f"after {elapsed:.2f} s: {r.text}")
            elif chat:
                out = r.json()
                conversation = out["conversation_id"]
                if out["output"] != "".join(REPLY_CHUNKS):
                    errors.add("wrong output", r.text)

    clients = [client(base_url) for _ in range(concurrency)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(w, http) for w, http in enumerate(clients)))
        wall = time.perf_counter() - started
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    return RequestResult(name, requests, concurrency, wall, Stats.of(latencies), errors, latencies)


async def drive_subscriptions(
    base_url: str, tokens: Sequence[str], *, clients: int, read_timeout: float = 120.0
) -> SubscriptionResult:
    """`clients` WebSocket clients connect and authenticate, then all subscribe to `chat`
    at the same instant and read until DONE (and the operation's `complete`)."""
    ws_url = base_url.replace("http://", "ws://") + "/graphql"
    connected: list[float] = []
    first: list[float] = []
    done: list[float] = []
    finished_at: list[float] = []
    events = 0
    errors = Errors()
    ready = 0
    all_ready = asyncio.Event()
    go = asyncio.Event()

    def arrived() -> None:
        nonlocal ready
        ready += 1
        if ready == clients:
            all_ready.set()

    async def client(c: int) -> None:
        nonlocal events
        token = tokens[c % len(tokens)]
        started = time.perf_counter()
        try:
            async with connect(
                ws_url,
                subprotocols=[Subprotocol("graphql-transport-ws")],
                open_timeout=read_timeout,
                ping_interval=None,
                close_timeout=5,
            ) as ws:
                init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                await ws.send(json.dumps(init))
                ack = json.loads(await asyncio.wait_for(ws.recv(), read_timeout))
                if ack.get("type") != "connection_ack":
                    errors.add("no connection_ack", json.dumps(ack))
                    return
                connected.append(time.perf_counter() - started)
                arrived()
                await go.wait()
                variables = {"agent": AGENT, "message": f"hello from client {c}"}
                sent = time.perf_counter()
                await ws.send(
                    json.dumps(
                        {
                            "id": "1",
                            "type": "subscribe",
                            "payload": {"query": CHAT, "variables": variables},
                        }
                    )
                )
                text, saw_first, saw_done = "", False, False
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), read_timeout))
                    kind = frame.get("type")
                    if kind == "complete":
                        break
                    if kind != "next":
                        errors.add(f"{kind} frame", json.dumps(frame))
                        return
                    payload = frame["payload"]
                    if payload.get("errors"):
                        errors.add("GraphQL error", json.dumps(payload["errors"]))
                        return
                    event = payload["data"]["chat"]
                    events += 1
                    now = time.perf_counter()
                    if not saw_first:
                        first.append(now - sent)
                        saw_first = True
                    if event["type"] == "DELTA":
                        text += event["text"] or ""
                    elif event["type"] == "DONE":
                        done.append(now - sent)
                        finished_at.append(now)
                        saw_done = True
                    elif event["type"] == "ERROR":
                        errors.add("ERROR event", json.dumps(event))
                        return
                if not saw_done:
                    errors.add("no DONE", text)
                elif text != "".join(REPLY_CHUNKS):
                    errors.add("wrong text", text)
        except Exception as exc:  # counted, never fatal
            errors.add(type(exc).__name__, repr(exc))

    tasks = [asyncio.create_task(client(c)) for c in range(clients)]
    # Every client either reaches the start line or fails; wait for the survivors.
    while not all_ready.is_set():
        if ready + sum(t.done() for t in tasks) >= clients:
            break
        await asyncio.sleep(0.01)
    go_at = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    wall = (max(finished_at) - go_at) if finished_at else float("nan")
    return SubscriptionResult(
        clients=clients,
        connect=Stats.of(connected),
        first_event=Stats.of(first),
        done=Stats.of(done),
        wall=wall,
        events=events,
        errors=errors,
        done_samples=done,
    )
