"""The side-by-side driver: 10 keep-alive clients (one connection each) run turns against
one app, then the other, round after round; each client keeps one conversation going."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

AGENT = "assistant"
CHAT = """subscription($message: String!, $cid: ID) {
  chat(agent: "assistant", message: $message, conversationId: $cid) { type text conversationId }
}"""


@dataclass
class App:
    """How to speak to one app: its base URL, its token and its paths."""

    name: str
    base: str
    token: str
    run_path: str
    stream_path: str
    graphql: bool  # MAI's subscription, else the baseline's plain /ws

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Client:
    """One user's client: one keep-alive connection and, for WS, one socket."""

    def __init__(self, app: App) -> None:
        self.app = app
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self.http = httpx.AsyncClient(base_url=app.base, limits=limits, timeout=60, verify=False)
        self.ws: ClientConnection | None = None
        self.conversation: str | None = None
        self.ops = 0

    async def close(self) -> None:
        await self.http.aclose()
        if self.ws is not None:
            await self.ws.close()

    async def rest(self, message: str) -> float:
        body: dict[str, Any] = {"message": message, "conversation_id": self.conversation}
        started = time.perf_counter()
        r = await self.http.post(self.app.run_path, json=body, headers=self.app.headers)
        r.raise_for_status()
        self.conversation = r.json()["conversation_id"]
        return time.perf_counter() - started

    async def sse(self, message: str) -> float:
        """Seconds to the first delta; the turn is read to its done event."""
        body: dict[str, Any] = {"message": message, "conversation_id": self.conversation}
        started, first, last_event = time.perf_counter(), 0.0, ""
        async with self.http.stream(
            "POST", self.app.stream_path, json=body, headers=self.app.headers
        ) as r:
            r.raise_for_status()
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    last_event = line[7:]
                    if last_event == "delta" and not first:
                        first = time.perf_counter() - started
                    if last_event == "error":
                        raise RuntimeError("error event")
                elif line.startswith("data: ") and last_event == "done":
                    self.conversation = json.loads(line[6:])["conversation_id"]
        return first

    async def v1(self, message: str) -> float:
        body = {"model": AGENT, "messages": [{"role": "user", "content": message}]}
        started = time.perf_counter()
        r = await self.http.post("/v1/chat/completions", json=body, headers=self.app.headers)
        r.raise_for_status()
        assert r.json()["choices"][0]["message"]["content"]
        return time.perf_counter() - started

    async def _socket(self) -> ClientConnection:
        if self.ws is None:
            url = self.app.base.replace("http://", "ws://")
            if self.app.graphql:
                self.ws = await connect(
                    url + "/graphql",
                    subprotocols=[Subprotocol("graphql-transport-ws")],
                    ping_interval=None,
                )
                auth = {"Authorization": f"Bearer {self.app.token}"}
                await self.ws.send(json.dumps({"type": "connection_init", "payload": auth}))
                assert json.loads(await self.ws.recv())["type"] == "connection_ack"
            else:
                self.ws = await connect(url + "/ws", ping_interval=None)
                await self.ws.send(json.dumps({"token": self.app.token}))
        return self.ws

    async def subscription(self, message: str) -> float:
        """Seconds to the first delta; the turn is read to its end."""
        ws = await self._socket()
        self.ops += 1
        started, first = time.perf_counter(), 0.0
        if self.app.graphql:
            variables = {"message": message, "cid": self.conversation}
            payload = {"query": CHAT, "variables": variables}
            await ws.send(
                json.dumps({"id": str(self.ops), "type": "subscribe", "payload": payload})
            )
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "complete":
                    return first
                if frame["type"] != "next":
                    raise RuntimeError(json.dumps(frame))
                event = frame["payload"]["data"]["chat"]
                if event["type"] == "DELTA" and not first:
                    first = time.perf_counter() - started
                elif event["type"] == "DONE":
                    self.conversation = event["conversationId"]
                elif event["type"] == "ERROR":
                    raise RuntimeError(event["text"])
        await ws.send(json.dumps({"message": message, "conversation_id": self.conversation}))
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "delta" and not first:
                first = time.perf_counter() - started
            elif frame["type"] == "done":
                self.conversation = frame["conversation_id"]
                return first


KINDS: dict[str, Callable[[Client, str], Awaitable[float]]] = {
    "REST run": Client.rest,
    "SSE stream": Client.sse,
    "/v1 chat completion": Client.v1,
    "WS subscription": Client.subscription,
}


async def burst(clients: list[Client], kind: str, turns: int) -> tuple[float, list[float]]:
    """`turns` turns of `kind` shared by the clients, all at once; (wall seconds, samples)."""
    op = KINDS[kind]
    issued, samples = 0, []

    async def worker(c: Client) -> None:
        nonlocal issued
        while issued < turns:
            issued += 1
            samples.append(await op(c, f"turn {issued}"))

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    return time.perf_counter() - started, samples
